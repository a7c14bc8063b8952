"""A WebSocket route declaring a scope: the core refuses a caller without it as HTTP would
(401/403 problem) where the server can answer the handshake with HTTP, else with close
code 4401/4403 — never the 4500 of an internal error."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from websockets.exceptions import InvalidStatus

from tests.support.processes import served
from themisgate import Identity
from themisgate.testing import make_app

from .plugin_fixtures import Named


@websocket("/ws/notes", opt={"scope": "write"})
async def notes(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.send_text("welcome")
    await socket.close()


def identify(request: Any) -> Identity | None:
    key = request.headers.get("x-api-key")
    if key == "reader":
        return Identity("api_key", "reader", "free", frozenset({"read"}))
    if key == "writer":
        return Identity("api_key", "writer", "free", frozenset({"read", "write"}))
    return None  # anonymous: the core's IP identity, read only


def app() -> Any:
    plugin = Named("notes", themisgate_routes=lambda ctx: [notes], themisgate_identify=identify)
    return make_app(plugin)


@pytest.mark.parametrize(("key", "code"), [(None, 4401), ("reader", 4403)])
def test_without_an_http_answer_the_refusal_is_a_close_code_with_the_reason(
    key: str | None, code: int
) -> None:
    headers = {"x-api-key": key} if key else {}
    with (
        TestClient(app()) as client,
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/notes", headers=headers) as socket,
    ):
        socket.receive_text()
    assert refused.value.code == code
    assert "'write' scope" in refused.value.detail


def test_a_caller_holding_the_scope_is_let_in() -> None:
    writer = {"x-api-key": "writer"}
    with TestClient(app()) as client, client.websocket_connect("/ws/notes", headers=writer) as ws:
        assert ws.receive_text() == "welcome"


@pytest.mark.parametrize(
    ("key", "status", "slug"), [(None, 401, "unauthorized"), ("reader", 403, "forbidden")]
)
async def test_uvicorn_answers_the_handshake_with_the_problem(
    key: str | None, status: int, slug: str
) -> None:
    headers = {"x-api-key": key} if key else {}
    async with served(app()) as url:
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(
                url.replace("http", "ws") + "/ws/notes", additional_headers=headers
            ):
                pass
    response = refused.value.response
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith('Bearer realm="themisgate"')
    body = json.loads(response.body)
    assert body["type"] == f"urn:themisgate:problem:{slug}"
    assert body["required_scope"] == "write"
    assert body["instance"] == "/ws/notes"
