"""The two middleware of the v3 API.

`SignalsMiddleware` wraps the whole app above the core's request context (priority 950),
so the deprecation signals reach every answer under /api/v3 whoever produced it: a
handler, a 404 of the router, a 401, 403 or 429 of other middleware, the 410 after the
sunset. It never raises; any other path costs it one prefix check.

`SunsetGate` runs after routing (priority 780: before the core's scope check at 750 and
rate limits at 700), and only does anything for the v3 API routes (their `opt` says so;
any other route costs it one dict lookup). It identifies the caller (once per request;
the scope check reuses the answer), answers 410 after the sunset when so configured —
before credentials are checked or a rate limit charged, since v3 is gone for everyone —
and records the request (`v3_request` event, usage tally) with the status it got.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from themisgate import AppContext, Identity, ProblemError, response_facts

from .signals import is_v3, successor_of
from .state import V3State
from .usage import EVENT, event_payload

SIGNALS_PRIORITY = 950
GATE_PRIORITY = 780
# in a route handler's `opt`: the route is part of the v3 API the gate guards
GATE_OPT = "v3compat_gate"


class SignalsMiddleware:
    def __init__(self, app: ASGIApp, state: V3State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not is_v3(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = self.state
        # the core's request context adds them to whatever response goes out
        response_facts(scope).headers += state.signals.headers(scope["path"], state.clock())  # type: ignore[arg-type]
        await self.app(scope, receive, send)


def gone(state: V3State, method: str, path: str) -> ProblemError:
    successor = successor_of(path)
    sunset = state.timeline.sunset_date.isoformat()
    guide = state.config.migration_guide
    return ProblemError(
        410,
        f"API v3 was retired on {sunset}; use {method} {successor} instead (how to move: {guide}).",
        slug="api-version-gone",
        successor=successor,
        sunset_date=sunset,
        migration_guide=guide,
    )


class SunsetGate:
    def __init__(self, app: ASGIApp, ctx: AppContext, state: V3State) -> None:
        self.app = app
        self.ctx = ctx
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if handler is None or not handler.opt.get(GATE_OPT):
            await self.app(scope, receive, send)
            return
        status = 0
        identity: Identity | None = None
        try:
            identity = await self.ctx.identify(Request[Any, Any, Any](scope, receive))
            state = self.state
            if state.timeline.gone(state.clock()):
                raise gone(state, scope["method"], scope["path"])  # type: ignore[typeddict-item]
            await self.app(scope, receive, send)
        except ProblemError as problem:  # refused credentials, or gone
            status = problem.status_code
            raise
        finally:
            # a handler's response has gone out by now; an error is answered later, outside
            self._record(scope, identity, status or response_facts(scope).status or 500)  # type: ignore[arg-type]

    def _record(self, scope: Scope, identity: Identity | None, status: int) -> None:
        route = scope.get("path_template") or scope["path"]
        self.state.usage.count(identity)
        self.ctx.emit(EVENT, event_payload(route, identity, status))  # never raises
