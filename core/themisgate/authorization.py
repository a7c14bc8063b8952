"""Scopes per route: a handler declares `opt={"scope": "read" | "write" | "admin"}` and the
caller's identity must hold it.

The check is a route-stage middleware (after routing, so the handler's `opt` is known),
installed only when some plugin answers `themisgate_identify`: without one the server is
open (every caller is an IP identity holding every scope), and checking would be a cost
with no effect. It is not a Litestar guard because guards copy the route handler on every
request, which cost more than identifying the caller.

Refusals follow RFC 6750 §3: a caller without credentials gets 401 with a bare `Bearer`
challenge naming the scope; one whose credentials lack the scope gets 403 with
`error="insufficient_scope"`. A WebSocket handshake is refused the same way where the
server can answer it with HTTP, else closed with 4401 or 4403. Both are sent as
`auth_failed` events (docs/events.md) so metrics count them like the credential failures
the auth plugin reports.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from .context import AppContext
from .contracts import Middleware
from .problems import PROBLEM_JSON, ProblemError

REALM = "themisgate"
_MAX_CLOSE_REASON = 123  # bytes of UTF-8 a WebSocket close frame can carry (RFC 6455)
# identity kind → the `scheme` of an `auth_failed` event
_SCHEME_OF_KIND = {"api_key": "api_key", "user": "jwt", "ip": "none"}


SCOPE_CHECK_PRIORITY = 750  # after auth (800) identified the caller, before rate limits (700)


class ScopeCheck:
    """Route-stage ASGI middleware refusing callers that lack the route's scope."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        needed = handler.opt.get("scope") if handler is not None else None
        if needed is not None:
            try:
                await self.check(ASGIConnection(scope, receive=receive, send=send), needed)
            except ProblemError as refused:
                if scope["type"] != ScopeType.WEBSOCKET:
                    raise
                await refuse_handshake(scope, send, refused)
                return
        await self.app(scope, receive, send)

    async def check(self, connection: ASGIConnection[Any, Any, Any, Any], needed: str) -> None:
        ctx = self.ctx
        identity = await ctx.identify(connection)
        if identity.allows(needed):
            return
        if identity.anonymous:
            ctx.emit("auth_failed", {"reason": "missing_credentials", "scheme": "none"})
            raise ProblemError(
                401,
                f"This route needs the {needed!r} scope; send credentials.",
                slug="unauthorized",
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}", scope="{needed}"'},
                required_scope=needed,
            )
        scheme = _SCHEME_OF_KIND.get(identity.kind, identity.kind)
        ctx.emit("auth_failed", {"reason": "insufficient_scope", "scheme": scheme})
        raise ProblemError(
            403,
            f"{identity.kind} {identity.id!r} lacks the {needed!r} scope this route needs.",
            slug="forbidden",
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="{REALM}", error="insufficient_scope", scope="{needed}"'
                )
            },
            required_scope=needed,
        )


async def refuse_handshake(scope: Scope, send: Send, refused: ProblemError) -> None:
    """Refuse a WebSocket handshake as HTTP would: a 401/403 problem with its
    `WWW-Authenticate` where the server offers ASGI's denial response (uvicorn does),
    else a close with code 4000 + status (4401, 4403) and the detail as reason, which
    client libraries report (a bare refusal would read as 403 with nothing said)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = msgspec.json.encode(refused.document(scope))
        headers = [(b"content-type", PROBLEM_JSON.encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in (refused.headers or {}).items()]
        await send(
            {
                "type": "websocket.http.response.start",
                "status": refused.status_code,
                "headers": headers,
            }
        )
        await send({"type": "websocket.http.response.body", "body": body, "more_body": False})
        return
    reason = refused.detail.encode()[:_MAX_CLOSE_REASON].decode(errors="ignore")
    await send({"type": "websocket.close", "code": 4000 + refused.status_code, "reason": reason})


def scope_check(ctx: AppContext) -> Middleware:
    return Middleware(
        "scope-check",
        SCOPE_CHECK_PRIORITY,
        lambda app: ScopeCheck(app, ctx),
        after_routing=True,
        applies_to=lambda handler: handler.opt.get("scope") is not None,
    )
