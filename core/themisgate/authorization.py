"""Scopes per route: a handler declares `opt={"scope": "read" | "write" | "admin"}` and the
caller's identity must hold it.

The guard is installed only when some plugin answers `themisgate_identify`: without one
the server is open (every caller is an IP identity holding every scope), and checking
would be a cost with no effect.

Refusals follow RFC 6750 §3: a caller without credentials gets 401 with a bare `Bearer`
challenge naming the scope; one whose credentials lack the scope gets 403 with
`error="insufficient_scope"`. Both are sent as `auth_failed` events (docs/events.md) so
metrics count them like the credential failures the auth plugin reports.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from .context import AppContext
from .problems import ProblemError

REALM = "themisgate"
# identity kind → the `scheme` of an `auth_failed` event
_SCHEME_OF_KIND = {"api_key": "api_key", "user": "jwt", "ip": "none"}


def scope_guard(ctx: AppContext) -> Any:
    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        needed = handler.opt.get("scope")
        if needed is None:
            return
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

    return guard
