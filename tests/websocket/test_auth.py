"""The same identity over WebSocket as over HTTP, with the auth plugin on: credentials in
the Authorization header, the `access_token` query parameter or the subprotocol pair
`bearer, <token>`; refusals are an error frame and 4401 / 4403 / 1008."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import websockets
from litestar import Litestar
from litestar.testing import TestClient

import themisgate_auth
from tests.support.processes import running
from themisgate_auth import hash_key, new_key

from .support import Recorder, closed_with, receive, websocket_app, websocket_server

SEARCH = "/api/v4/ws/search"
LOGS = "/api/v4/ws/logs"
ADMIN_KEY = new_key()
READER_KEY = new_key()
WRITER_KEY = new_key()


def secured(*plugins: object, **websocket: Any) -> Litestar:
    keys = [
        {"id": "ops", "hash": hash_key(ADMIN_KEY), "tier": "enterprise", "scopes": ["admin"]},
        {"id": "reader", "hash": hash_key(READER_KEY), "tier": "free", "scopes": ["read"]},
        {"id": "writer", "hash": hash_key(WRITER_KEY), "tier": "free", "scopes": ["read", "write"]},
    ]
    return websocket_app(themisgate_auth, *plugins, extra={"auth": {"api_keys": keys}}, **websocket)


def test_anonymous_callers_may_search_but_not_read_the_log() -> None:
    recorder = Recorder()
    with TestClient(secured(recorder)) as client:
        with client.websocket_connect(SEARCH) as ws:
            assert receive(ws)["type"] == "connected"
        with client.websocket_connect(LOGS) as ws:
            code, frames = closed_with(ws)
    assert code == 4401
    assert frames[0]["type"] == "error"
    assert frames[0]["code"] == "unauthorized"
    assert "admin" in frames[0]["message"]
    assert {"reason": "missing_credentials", "scheme": "none"} in recorder.named("auth_failed")


def test_a_key_without_the_admin_scope_is_refused_the_log_with_4403() -> None:
    with (
        TestClient(secured()) as client,
        client.websocket_connect(LOGS, headers={"Authorization": f"Bearer {READER_KEY}"}) as ws,
    ):
        code, frames = closed_with(ws)
    assert code == 4403
    assert frames[0]["code"] == "forbidden"


@pytest.mark.parametrize("how", ["header", "query", "subprotocol"])
def test_credentials_travel_in_the_header_the_query_or_the_subprotocol(how: str) -> None:
    url, headers, subprotocols = f"{LOGS}?log_level=info", {}, None
    if how == "header":
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    elif how == "query":
        url += f"&access_token={ADMIN_KEY}"
    else:
        subprotocols = ["bearer", ADMIN_KEY]
    with (
        TestClient(secured()) as client,
        client.websocket_connect(url, headers=headers, subprotocols=subprotocols) as ws,
    ):
        hello = receive(ws)
        chosen = ws.accepted_subprotocol
    assert hello["type"] == "connected"
    assert chosen == ("bearer" if how == "subprotocol" else None)


def test_a_query_token_leaves_the_other_parameters_alone() -> None:
    url = f"{SEARCH}?access_token={WRITER_KEY}&client_id=dora"
    with TestClient(secured()) as client, client.websocket_connect(url) as ws:
        hello = receive(ws)
        ws.send_json({"action": "broadcast", "message": "hi"})  # needs `write`
        echoed = receive(ws)
    assert hello["client_id"] == "dora"
    assert echoed == {"type": "broadcast", "from": "dora", "message": "hi"}


def test_an_unknown_key_is_refused_with_4401_whichever_way_it_comes() -> None:
    bogus = new_key()
    with TestClient(secured()) as client:
        with client.websocket_connect(f"{SEARCH}?access_token={bogus}") as ws:
            by_query = closed_with(ws)
        with client.websocket_connect(SEARCH, subprotocols=["bearer", bogus]) as ws:
            by_subprotocol = closed_with(ws)
    for code, frames in (by_query, by_subprotocol):
        assert code == 4401
        assert frames[0]["code"] == "unauthorized"
        assert bogus not in frames[0]["message"]


def test_messaging_needs_the_write_scope_and_a_refusal_keeps_the_connection() -> None:
    with (
        TestClient(secured()) as client,
        client.websocket_connect(SEARCH, subprotocols=["bearer", READER_KEY]) as ws,
    ):
        receive(ws)
        ws.send_json({"action": "send", "to": "someone", "message": 1})
        refused = receive(ws)
        ws.send_json({"action": "ping"})
        assert receive(ws)["type"] == "pong"
    assert refused["code"] == "forbidden"


def test_a_client_id_belongs_to_the_caller_holding_it() -> None:
    with (
        TestClient(secured()) as client,
        client.websocket_connect(f"{SEARCH}?client_id=shared&access_token={READER_KEY}") as first,
    ):
        receive(first)
        with client.websocket_connect(
            f"{SEARCH}?client_id=shared&access_token={WRITER_KEY}"
        ) as second:
            code, frames = closed_with(second)
        with client.websocket_connect(
            f"{SEARCH}?client_id=shared&access_token={READER_KEY}"
        ) as same_caller:
            assert receive(same_caller)["client_id"] == "shared"
    assert code == 1008
    assert frames[0]["code"] == "client_id_taken"


def test_the_sse_streams_answer_problems_before_streaming() -> None:
    with TestClient(secured()) as client:
        anonymous = client.get("/api/v4/events/logs")
        reader = client.get(
            "/api/v4/events/logs", headers={"Authorization": f"Bearer {READER_KEY}"}
        )
        bad_level = client.get(f"/api/v4/events/logs?log_level=LOUD&access_token={ADMIN_KEY}")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert reader.status_code == 403
    assert bad_level.status_code == 422
    assert bad_level.json()["type"] == "urn:themisgate:problem:validation-error"


async def test_a_token_in_the_url_never_reaches_the_server_log(tmp_path: Path) -> None:
    key = new_key()
    auth = (
        "[plugins.auth]\n[[plugins.auth.api_keys]]\n"
        f'id = "ops"\nhash = "{hash_key(key)}"\ntier = "free"\nscopes = ["admin"]\n'
    )
    with running(websocket_server(tmp_path, {}, extra=auth)) as server:
        base = server.url.replace("http://", "ws://")
        url = f"{base}/api/v4/ws/logs?log_level=info&access_token={key}"
        async with websockets.connect(url) as ws:
            hello = json.loads(await ws.recv())
        async with websockets.connect(f"{base}{SEARCH}", subprotocols=["bearer", key]) as ws:
            chosen = ws.subprotocol
            await ws.recv()
        output = server.output()
    assert hello["type"] == "connected"
    assert chosen == "bearer"
    assert "/api/v4/ws/logs" in output  # uvicorn did log the handshake
    assert key not in output
