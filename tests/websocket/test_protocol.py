"""The protocol of /api/v4/ws/search, message by message, through Litestar's test client:
what a client sends, what it gets back, and that a bad message never closes the
connection."""

from __future__ import annotations

import time
from typing import Any

import pytest
from litestar.testing import TestClient

from themisgate import WebSocketAction

from .support import (
    Allowance,
    Recorder,
    closed_with,
    receive,
    receive_until,
    seed,
    wait_for,
    websocket_app,
)

SEARCH = "/api/v4/ws/search"


def test_a_search_streams_started_each_result_and_complete() -> None:
    with TestClient(websocket_app()) as client:
        seed(client)
        with client.websocket_connect(f"{SEARCH}?client_id=alice") as ws:
            hello = receive(ws)
            assert hello["type"] == "connected"
            assert hello["client_id"] == "alice"
            assert {"search", "ping", "broadcast", "send"} <= set(hello["actions"])

            ws.send_json({"action": "search", "query": "solar energy", "top_k": 3})
            frames = receive_until(ws, "search_complete")

    assert frames[0] == {"type": "search_started", "query": "solar energy"}
    results = frames[1:-1]
    assert [r["type"] for r in results] == ["result"] * 3
    assert [r["index"] for r in results] == [0, 1, 2]
    assert {r["total"] for r in results} == {3}
    assert {r["data"]["id"] for r in results} <= {"d1", "d2", "d3", "d4", "d5"}
    scores = [r["data"]["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0]["data"]["document"]["text"]
    assert frames[-1] == {"type": "search_complete", "total_results": 3}


def test_search_takes_collection_filters_and_an_id_that_every_answer_echoes() -> None:
    with TestClient(websocket_app()) as client:
        seed(client, collection="energy")
        with client.websocket_connect(SEARCH) as ws:
            receive(ws)
            ws.send_json(
                {
                    "action": "search",
                    "id": "q1",
                    "query": "solar",
                    "top_k": 5,
                    "collection": "energy",
                    "filters": {"text": "a recipe for apple cake"},
                }
            )
            frames = receive_until(ws, "search_complete")
    assert {frame["id"] for frame in frames} == {"q1"}
    assert [f["data"]["id"] for f in frames if f["type"] == "result"] == ["d4"]
    assert frames[-1]["total_results"] == 1


def test_ping_is_answered_with_pong() -> None:
    with TestClient(websocket_app()) as client, client.websocket_connect(SEARCH) as ws:
        receive(ws)
        ws.send_json({"action": "ping"})
        pong = receive(ws)
        ws.send_json({"action": "ping", "id": 42})
        pong_with_id = receive(ws)
    assert pong["type"] == "pong"
    assert "id" not in pong
    assert pong_with_id["type"] == "pong"
    assert pong_with_id["id"] == 42


@pytest.mark.parametrize(
    ("sent", "code", "field"),
    [
        ("{not json", "invalid_json", None),
        ("[1, 2]", "invalid_message", None),
        ('"search"', "invalid_message", None),
        ('{"query": "solar"}', "unknown_action", "action"),
        ('{"action": "dance"}', "unknown_action", "action"),
        ('{"action": "search", "query": "solar", "top_k": "ten"}', "invalid_field", "top_k"),
        ('{"action": "search", "query": "solar", "top_k": 0}', "invalid_field", "top_k"),
        ('{"action": "search", "query": "solar", "colour": "red"}', "invalid_field", "colour"),
        (
            '{"action": "search", "query": "solar", "collection": "a b"}',
            "invalid_field",
            "collection",
        ),
        ('{"action": "search", "top_k": 3}', "invalid_field", "query"),
        ('{"action": "search", "query": "solar", "top_k": 500}', "invalid_field", "top_k"),
        ('{"action": "send", "message": 1}', "invalid_field", "to"),
    ],
)
def test_a_bad_message_gets_an_error_frame_and_the_connection_stays_open(
    sent: str, code: str, field: str | None
) -> None:
    with TestClient(websocket_app()) as client, client.websocket_connect(SEARCH) as ws:
        receive(ws)
        ws.send_text(sent)
        error = receive(ws)
        ws.send_json({"action": "ping", "id": "after"})
        after = receive(ws)
    assert error["type"] == "error"
    assert error["code"] == code
    assert error["message"]
    assert error.get("field") == field
    assert after == {"type": "pong", "ts": after["ts"], "id": "after"}


def test_many_bad_messages_in_a_row_then_a_search_still_works() -> None:
    with TestClient(websocket_app()) as client:
        seed(client)
        with client.websocket_connect(SEARCH) as ws:
            receive(ws)
            for bad in ("", "{", "null", '{"action": 1}', '{"action": "search", "top_k": -1}'):
                ws.send_text(bad)
                assert receive(ws)["type"] == "error"
            ws.send_json({"action": "search", "query": "wind", "top_k": 1})
            frames = receive_until(ws, "search_complete")
    assert frames[-1]["total_results"] == 1


def test_binary_frames_carry_json_messages_too() -> None:
    with TestClient(websocket_app()) as client, client.websocket_connect(SEARCH) as ws:
        receive(ws)
        ws.send_bytes(b'{"action": "ping", "id": 1}')
        assert receive(ws)["type"] == "pong"


def test_a_message_over_the_size_limit_gets_too_large_and_close_1009() -> None:
    app = websocket_app(max_message_bytes=1024)
    with TestClient(app) as client, client.websocket_connect(SEARCH) as ws:
        receive(ws)
        ws.send_json({"action": "search", "query": "x" * 2000})
        code, frames = closed_with(ws)
    assert code == 1009
    assert frames[-1]["type"] == "error"
    assert frames[-1]["code"] == "too_large"
    assert frames[-1]["max_bytes"] == 1024


def test_search_errors_from_themisdb_are_error_frames() -> None:
    with TestClient(websocket_app()) as client:
        seed(client)
        with client.websocket_connect(SEARCH) as ws:
            receive(ws)
            # the index holds 384-dimensional vectors
            ws.send_json({"action": "search", "id": 1, "vector": [0.1, 0.2], "top_k": 2})
            frames = receive_until(ws, "error")
            ws.send_json({"action": "ping"})
            assert receive(ws)["type"] == "pong"
    assert frames[0]["type"] == "search_started"
    assert frames[-1]["code"] == "bad_request"
    assert frames[-1]["problem"] == "vector-dimension-mismatch"
    assert frames[-1]["id"] == 1


def test_every_message_is_charged_and_a_refusal_keeps_the_connection_open() -> None:
    allowance = Allowance(allowed=3)
    with TestClient(websocket_app(allowance, search_cost=2)) as client:
        seed(client)
        with client.websocket_connect(SEARCH) as ws:
            receive(ws)
            ws.send_json({"action": "ping"})
            assert receive(ws)["type"] == "pong"
            ws.send_json({"action": "search", "query": "solar", "top_k": 1})
            assert receive_until(ws, "search_complete")[-1]["total_results"] == 1
            ws.send_json({"action": "ping", "id": "over"})
            refused = receive(ws)
            ws.send_json({"action": "ping"})
            still_refused = receive(ws)
    assert [(key, cost) for _, key, cost in allowance.charges[:2]] == [
        ("websocket:ping", 1),
        ("websocket:search", 2),
    ]
    assert refused == {
        "type": "error",
        "code": "rate_limited",
        "message": refused["message"],
        "retry_after": 2.5,
        "id": "over",
    }
    assert still_refused["code"] == "rate_limited"


def test_searches_per_connection_are_bounded() -> None:
    with TestClient(websocket_app(max_concurrent_searches=1)) as client:
        seed(client)
        with client.websocket_connect(SEARCH) as ws:
            receive(ws)
            for n in range(6):
                ws.send_json({"action": "search", "id": n, "query": "solar", "top_k": 5})
            frames = []
            while sum(f["type"] in ("search_complete", "error") for f in frames) < 6:
                frames.append(receive(ws))
    # each search either completed or was refused as busy, none vanished
    ends = {f["id"]: f for f in frames if f["type"] in ("search_complete", "error")}
    assert set(ends) == set(range(6))
    assert ends[0]["type"] == "search_complete"
    assert {f["code"] for f in ends.values() if f["type"] == "error"} <= {"busy"}


def test_broadcasts_reach_every_client_and_personal_messages_only_theirs() -> None:
    with (
        TestClient(websocket_app()) as client,
        client.websocket_connect(f"{SEARCH}?client_id=alice") as alice,
        client.websocket_connect(f"{SEARCH}?client_id=bob") as bob_phone,
        client.websocket_connect(f"{SEARCH}?client_id=bob") as bob_laptop,
    ):
        for ws in (alice, bob_phone, bob_laptop):
            receive(ws)
        alice.send_json({"action": "broadcast", "message": {"text": "hello all"}})
        broadcast = {"type": "broadcast", "from": "alice", "message": {"text": "hello all"}}
        assert receive(alice) == broadcast
        assert receive(bob_phone) == broadcast
        assert receive(bob_laptop) == broadcast

        alice.send_json({"action": "send", "to": "bob", "message": ["psst"]})
        personal = {"type": "message", "from": "alice", "message": ["psst"]}
        assert receive(bob_phone) == personal
        assert receive(bob_laptop) == personal
        alice.send_json({"action": "ping", "id": "nothing-else"})
        assert receive(alice)["type"] == "pong"  # alice got no copy of the message


def test_user_disconnected_is_broadcast_when_the_last_connection_of_a_client_closes() -> None:
    with (
        TestClient(websocket_app()) as client,
        client.websocket_connect(f"{SEARCH}?client_id=alice") as alice,
    ):
        receive(alice)
        with client.websocket_connect(f"{SEARCH}?client_id=bob") as first:
            receive(first)
            with client.websocket_connect(f"{SEARCH}?client_id=bob") as second:
                receive(second)
            # one of bob's connections is still open: nobody is told
            alice.send_json({"action": "ping", "id": "check"})
            assert receive(alice)["type"] == "pong"
        assert receive(alice) == {"type": "user_disconnected", "client_id": "bob"}


def test_the_server_pushes_broadcasts_and_personal_messages_over_http() -> None:
    with (
        TestClient(websocket_app()) as client,
        client.websocket_connect(f"{SEARCH}?client_id=carol") as carol,
    ):
        receive(carol)
        sent = client.post("/api/v4/ws/broadcast", json={"message": {"news": 1}})
        assert sent.status_code == 202
        assert sent.json() == {"delivered_here": 1, "bus": "memory"}
        assert receive(carol) == {"type": "broadcast", "from": "server", "message": {"news": 1}}
        personal = client.post("/api/v4/ws/clients/carol/messages", json={"message": "hi"})
        assert personal.status_code == 202
        assert receive(carol) == {"type": "message", "from": "server", "message": "hi"}
        facts = client.get("/api/v4/ws/connections").json()
    assert facts["connections"] == 1
    assert facts["clients"] == 1
    assert facts["by_endpoint"] == {SEARCH: 1}


def test_a_bad_client_id_is_refused_with_1008() -> None:
    with (
        TestClient(websocket_app()) as client,
        client.websocket_connect(f"{SEARCH}?client_id=a%20b") as ws,
    ):
        code, frames = closed_with(ws)
    assert code == 1008
    assert frames == [
        {
            "type": "error",
            "code": "invalid_field",
            "message": frames[0]["message"],
            "field": "client_id",
        }
    ]


def test_connections_per_identity_are_limited() -> None:
    with TestClient(websocket_app(max_connections_per_identity=2)) as client:
        with client.websocket_connect(SEARCH) as one, client.websocket_connect(SEARCH) as two:
            receive(one)
            receive(two)
            with client.websocket_connect(SEARCH) as three:
                code, frames = closed_with(three)
        assert code == 1008
        assert frames[0]["code"] == "too_many_connections"
        # once those are closed there is room again
        wait_for(
            lambda: client.get("/api/v4/ws/connections").json()["connections"] == 0,
            "the closed connections to be forgotten",
        )
        with client.websocket_connect(SEARCH) as again:
            assert receive(again)["type"] == "connected"


def test_an_idle_connection_is_closed_with_4408_and_pings_keep_it_open() -> None:
    app = websocket_app(idle_timeout_seconds=1.5, heartbeat_seconds=0)
    with TestClient(app) as client:
        with client.websocket_connect(SEARCH) as busy:
            receive(busy)
            for _ in range(10):  # pings for 2 s outlast the 1.5 s timeout
                busy.send_json({"action": "ping"})
                assert receive(busy)["type"] == "pong"
                time.sleep(0.2)
        with client.websocket_connect(SEARCH) as idle:
            receive(idle)
            code, frames = closed_with(idle)
    assert code == 4408
    # (the busy client's departure may have been announced before)
    assert frames[-1] == {"type": "error", "code": "idle_timeout", "message": frames[-1]["message"]}


def test_the_server_sends_heartbeats() -> None:
    with (
        TestClient(websocket_app(heartbeat_seconds=0.1)) as client,
        client.websocket_connect(SEARCH) as ws,
    ):
        receive(ws)
        beats = [ws.receive_json(timeout=5) for _ in range(2)]
    assert [beat["type"] for beat in beats] == ["heartbeat", "heartbeat"]
    assert beats[1]["ts"] >= beats[0]["ts"]


def test_connections_and_messages_are_observed_through_events_and_operations() -> None:
    recorder = Recorder()
    with TestClient(websocket_app(recorder)) as client:
        seed(client)
        with client.websocket_connect(f"{SEARCH}?client_id=obs") as ws:
            receive(ws)
            ws.send_json({"action": "search", "query": "solar", "top_k": 2})
            receive_until(ws, "search_complete")
            ws.send_text("nonsense")
            receive(ws)
        wait_for(lambda: recorder.named("ws_disconnected"), "ws_disconnected")

    assert recorder.named("ws_connected") == [{"endpoint": SEARCH}]
    (gone,) = recorder.named("ws_disconnected")
    assert gone["endpoint"] == SEARCH
    assert gone["code"] == 1000
    assert gone["duration_seconds"] >= 0
    inbound = [m["type"] for m in recorder.named("ws_message") if m["direction"] == "in"]
    outbound = [m["type"] for m in recorder.named("ws_message") if m["direction"] == "out"]
    assert inbound == ["search", "invalid"]
    assert outbound == [
        "connected",
        "search_started",
        "result",
        "result",
        "search_complete",
        "error",
    ]
    assert {m["endpoint"] for m in recorder.named("ws_message")} == {SEARCH}
    (search,) = [op for op in recorder.operations if op[1] == "search"]
    surface, _, attributes, error = search
    assert surface == "websocket"
    assert error is None
    assert attributes == {
        "websocket.endpoint": SEARCH,
        "websocket.client_id": "obs",
        "results.count": 2,
    }


class Echo:
    """A plugin adding actions to the protocol without importing the websocket plugin."""

    name = "echo"

    def themisgate_websocket_actions(self, ctx: Any) -> list[WebSocketAction]:
        async def echo(message: dict[str, Any], identity: Any) -> dict[str, Any]:
            if not isinstance(message.get("text"), str):
                raise ValueError("text: a string")
            return {"type": "echo", "text": message["text"], "caller": identity.kind}

        async def count(message: dict[str, Any], identity: Any) -> Any:
            for n in range(int(message.get("to", 3))):
                yield {"type": "count", "n": n}

        return [
            WebSocketAction(name="echo", handler=echo, description="Echoes text."),
            WebSocketAction(name="count", handler=count, scope="write"),
        ]


def test_other_plugins_add_actions() -> None:
    with TestClient(websocket_app(Echo())) as client, client.websocket_connect(SEARCH) as ws:
        hello = receive(ws)
        ws.send_json({"action": "echo", "text": "hi"})
        echoed = receive(ws)
        ws.send_json({"action": "echo", "text": 5, "id": 9})
        refused = receive(ws)
        ws.send_json({"action": "count", "to": 2})
        counted = [receive(ws), receive(ws)]
    assert {"echo", "count"} <= set(hello["actions"])
    assert echoed == {"type": "echo", "text": "hi", "caller": "ip"}
    assert refused == {
        "type": "error",
        "code": "invalid_field",
        "message": "text: a string",
        "id": 9,
    }
    assert counted == [{"type": "count", "n": 0}, {"type": "count", "n": 1}]


def test_an_action_name_that_is_taken_stops_start_up() -> None:
    class Clash:
        name = "clash"

        def themisgate_websocket_actions(self, ctx: Any) -> list[WebSocketAction]:
            async def handler(message: dict[str, Any], identity: Any) -> None:
                return None

            return [WebSocketAction(name="search", handler=handler)]

    from themisgate import ConfigError

    with pytest.raises(ConfigError, match="'search' is already taken"):
        websocket_app(Clash())
