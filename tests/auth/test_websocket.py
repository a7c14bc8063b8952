"""A WebSocket connection is identified from the headers of its upgrade request, like an
HTTP request, and a route's scope is enforced before the connection is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

import themisgate_auth
from themisgate import Ctx
from themisgate.testing import plugin_client
from themisgate_auth import hash_key, new_key

from .support import Plugin, auth_settings

KEY = new_key()


@websocket("/ws/whoami", opt={"scope": "read"})
async def ws_whoami(socket: WebSocket[Any, Any, Any], ctx: Ctx) -> None:
    identity = await ctx.identify(socket)
    await socket.accept()
    await socket.send_json({"kind": identity.kind, "id": identity.id, "tier": identity.tier})
    await socket.close()


def settings() -> dict[str, Any]:
    return auth_settings(
        require_auth=True,
        api_keys=[{"id": "socket", "hash": hash_key(KEY), "tier": "premium"}],
    )


async def test_a_websocket_with_a_key_is_that_key() -> None:
    routes = Plugin("ws", themisgate_routes=lambda ctx: [ws_whoami])
    async with plugin_client(themisgate_auth, routes, settings=settings()) as client:
        session = await client.websocket_connect("/ws/whoami", headers={"X-API-Key": KEY})
        with session:
            message = session.receive_json()
    assert message == {"kind": "api_key", "id": "socket", "tier": "premium"}


async def refusal(client: Any, headers: dict[str, str]) -> str:
    """Why the server closed the connection instead of accepting it."""
    session = await client.websocket_connect("/ws/whoami", headers=headers)
    with pytest.raises(WebSocketDisconnect) as refused, session:
        session.receive_json()
    return str(refused.value.detail)


async def test_a_websocket_without_credentials_or_with_a_bad_key_is_refused() -> None:
    routes = Plugin("ws", themisgate_routes=lambda ctx: [ws_whoami])
    async with plugin_client(themisgate_auth, routes, settings=settings()) as client:
        reasons = [await refusal(client, headers) for headers in ({}, {"X-API-Key": new_key()})]
    assert reasons == [
        "This route needs the 'read' scope; send credentials.",
        "Authentication failed: the API key is not valid.",
    ]
