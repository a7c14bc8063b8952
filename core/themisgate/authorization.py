"""Scopes per route: a handler declares `opt={"scope": "read" | "write" | "admin"}` and the
caller's identity must hold it.

The guard is installed only when some plugin answers `themisgate_identify`: without one
the server is open (every caller is an IP identity holding every scope), and checking
would be a cost with no effect.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from .context import AppContext
from .problems import ProblemError


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
            raise ProblemError(
                401,
                f"This route needs the {needed!r} scope; send credentials.",
                slug="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="themisgate"'},
                required_scope=needed,
            )
        raise ProblemError(
            403,
            f"{identity.kind} {identity.id!r} lacks the {needed!r} scope this route needs.",
            slug="forbidden",
            required_scope=needed,
        )

    return guard
