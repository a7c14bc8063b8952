"""Bearer tokens where a browser can put them, for this plugin's routes.

A browser's `WebSocket` and `EventSource` cannot set an `Authorization` header. They can
send the token as the query parameter `access_token` (RFC 6750 §2.3) or, for WebSockets,
as the subprotocol pair `bearer, <token>` (`new WebSocket(url, ["bearer", token])`).
This route-stage middleware copies such a token into an `Authorization: Bearer` header
before anything identifies the caller, so whichever plugin answers `themisgate_identify`
(the auth plugin reads headers) sees the same credential as over HTTP; this plugin never
talks to that one. The token is removed from the query string and the subprotocol list;
the server answers the subprotocol `bearer`. An `Authorization` header the client sent
wins over both.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar.types import ASGIApp, Receive, Scope, Send

OPT_KEY = "bearer_in_url"
QUERY_PARAMETER = "access_token"
SUBPROTOCOL = "bearer"
SUBPROTOCOL_STATE_KEY = "themisgate_websocket_subprotocol"
PRIORITY = 790  # before anything that identifies callers: the scope check (750), rate limits (700)


class BearerInUrl:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if handler is not None and handler.opt.get(OPT_KEY):
            _move_token(scope)
        await self.app(scope, receive, send)


def _move_token(scope: Any) -> None:
    token: str | None = None
    query: bytes = scope.get("query_string", b"")
    if QUERY_PARAMETER.encode() in query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if k != QUERY_PARAMETER]
        found = [v for k, v in pairs if k == QUERY_PARAMETER]
        if found:
            token = found[0]
            scope["query_string"] = urlencode(kept).encode("latin-1")
    if scope["type"] == "websocket":
        offered: list[str] = list(scope.get("subprotocols") or ())
        if SUBPROTOCOL in offered:
            at = offered.index(SUBPROTOCOL)
            scope.setdefault("state", {})[SUBPROTOCOL_STATE_KEY] = SUBPROTOCOL
            if at + 1 < len(offered):
                token = token or offered[at + 1]
                del offered[at + 1]
            scope["subprotocols"] = offered
    if not token:
        return
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    if any(name == b"authorization" for name, _ in headers):
        return
    scope["headers"] = [*headers, (b"authorization", b"Bearer " + token.strip().encode())]


def chosen_subprotocol(scope: Any) -> str | None:
    """The subprotocol to answer: `bearer` when the client offered it."""
    state = scope.get("state") or {}
    chosen = state.get(SUBPROTOCOL_STATE_KEY)
    return chosen if isinstance(chosen, str) else None
