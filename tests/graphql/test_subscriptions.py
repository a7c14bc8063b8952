"""`Subscription.adapterStatus` over graphql-transport-ws; the legacy graphql-ws protocol
is refused, and a connection runs at most `max_subscriptions_per_connection` at once."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from tests.graphql.support import graphql_app, rate_limiter

PROTOCOL = "graphql-transport-ws"
STATUS = "subscription Watch { adapterStatus { name available queryCount } }"


def receive(ws: Any) -> Any:
    """The next message; a missing one fails the test instead of hanging it."""
    return ws.receive_json(timeout=10)


def subscribe(ws: Any, id: str, document: str = STATUS) -> None:
    ws.send_json({"type": "subscribe", "id": id, "payload": {"query": document}})


def test_adapter_status_subscription_receives_updates() -> None:
    app = graphql_app(status_interval=0.01)
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        assert receive(ws) == {"type": "connection_ack"}
        subscribe(ws, "1")
        updates = [receive(ws) for _ in range(3)]
        ws.send_json({"type": "complete", "id": "1"})
    assert [u["type"] for u in updates] == ["next", "next", "next"]
    assert {u["id"] for u in updates} == {"1"}
    statuses = [u["payload"]["data"]["adapterStatus"] for u in updates]
    assert all(s["name"] == "embedded" and s["available"] for s in statuses)
    counts = [s["queryCount"] for s in statuses]
    assert counts == sorted(counts)
    assert counts[0] < counts[-1]  # each update asks the adapter again


def test_queries_run_over_the_socket_too() -> None:
    app = graphql_app()
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        receive(ws)
        subscribe(ws, "q", '{ document(id: "none:here") adapterStatus { name } }')
        answer = receive(ws)
        done = receive(ws)
    assert answer["payload"] == {"data": {"document": None, "adapterStatus": {"name": "embedded"}}}
    assert done == {"id": "q", "type": "complete"}


def legacy_handshake(client: TestClient[Any]) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        receive(ws)


def test_the_legacy_graphql_ws_protocol_is_refused() -> None:
    with TestClient(graphql_app()) as client, pytest.raises(WebSocketDisconnect) as refused:
        legacy_handshake(client)
    assert refused.value.code == 4406


def test_subscriptions_per_connection_are_limited() -> None:
    app = graphql_app(status_interval=0.01, max_subscriptions_per_connection=2)
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        receive(ws)
        for id in ("1", "2", "3"):
            subscribe(ws, id)
        refusal = next(m for m in iter(lambda: receive(ws), None) if m["type"] == "error")
    assert refusal["id"] == "3"
    assert "limit" in refusal["payload"][0]["message"].lower()


def test_an_invalid_or_rate_limited_subscription_is_an_error_message() -> None:
    app = graphql_app(rate_limiter([], allow=False, retry_after=7))
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        receive(ws)
        subscribe(ws, "bad", "subscription { nope }")
        invalid = receive(ws)
        subscribe(ws, "limited")
        limited = receive(ws)
    assert invalid["type"] == "error"
    assert "nope" in invalid["payload"][0]["message"]
    assert limited["type"] == "error"
    assert limited["payload"][0]["extensions"] == {
        "code": "RATE_LIMITED",
        "retryAfter": 7,
        "cost": 4,
    }
