"""One app's rate limiting, built once by the start-up hooks: the policies, the limiter,
the events, readiness, and the answer to `themisgate_rate_limit` (the HTTP middleware is
in `middleware.py`). One process may hold several apps (tests do); each has its own,
found from the app's `ctx`.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar.types import ASGIApp

from themisgate import ALLOW_ALL, AppContext, Identity, RateDecision, StatusReport

from .config import Config, redacted_url
from .gcra import Verdict
from .limiter import Limiter
from .policies import Plan, PolicyBook
from .responses import US

log = logging.getLogger("themisgate.ratelimit")

PLUGIN = "ratelimit"


def runtime_for(ctx: AppContext) -> RateLimiting:
    """The app's `RateLimiting`, created on first use; it goes with the app."""
    return ctx.plugin_state(__name__, lambda: RateLimiting(ctx, ctx.config(PLUGIN)))


class RateLimiting:
    def __init__(self, ctx: AppContext, config: Config) -> None:
        self.ctx = ctx
        self.config = config
        self.book = PolicyBook(config)
        self.limiter = Limiter(config, ctx.emit)
        self.headers = config.headers
        # events cost a payload per request; skip building them when nobody listens
        self.reporting = bool(ctx.pm.hook.themisgate_event.get_hookimpls())
        self.routes_checked = False

    # --- other surfaces (GraphQL operations, WebSocket messages) -----------------------

    async def rate_limit(self, identity: Identity, key: str, cost: int) -> RateDecision:
        caller = identity.key
        if caller in self.book.allow_identities or (
            identity.anonymous and self.book.allowed_client(identity.id)
        ):
            return ALLOW_ALL
        plan = self.book.surface_plan(key, identity.tier)
        if plan is None:
            return ALLOW_ALL
        cost = max(0, cost)
        too_big = next((p for p in plan.policies if cost > p.burst), None)
        if too_big is not None:  # more than the policy ever allows at once
            return RateDecision(
                allowed=False,
                limit=too_big.rate.count,
                remaining=0,
                retry_after=float(too_big.rate.period),
                policy=too_big.name,
            )
        verdict = await self.limiter.charge(caller, plan.policies, cost)
        if verdict is None:
            return RateDecision(allowed=False, retry_after=self.limiter.retry_in())
        self.report(plan, identity, verdict)
        tightest = max(verdict.violated, key=lambda s: s.retry, default=verdict.tightest)
        assert tightest is not None
        return RateDecision(
            allowed=verdict.allowed,
            limit=tightest.policy.rate.count,
            remaining=tightest.remaining,
            retry_after=verdict.retry_after / US,
            reset_after=tightest.next_unit / US,
            policy=tightest.policy.name,
        )

    # --- events --------------------------------------------------------------------

    def report(self, plan: Plan, identity: Identity, verdict: Verdict) -> None:
        if not self.reporting:
            return
        if verdict.allowed:  # the common case, straight from the TATs
            policy, remaining = verdict.fewest_remaining()
        else:
            tightest = verdict.tightest
            assert tightest is not None
            policy, remaining = tightest.policy, tightest.remaining
        emit = self.ctx.emit
        emit(
            "rate_limit_checked",
            {
                "route": plan.label,
                "tier": identity.tier,
                "limit": policy.rate.count,
                "remaining": remaining,
            },
        )
        if not verdict.allowed:
            worst = max(verdict.violated, key=lambda s: s.retry)
            emit(
                "rate_limited",
                {
                    "route": plan.label,
                    "tier": identity.tier,
                    "identity_kind": identity.kind,
                    "policy": worst.policy.rate.window,
                    "retry_after": verdict.retry_after / US,
                },
            )

    # --- readiness -----------------------------------------------------------------

    async def status(self) -> StatusReport:
        limiter = self.limiter
        local = {
            "keys": len(limiter.memory),
            "max_keys": limiter.memory.max_keys,
            "evicted": limiter.memory.evicted,
        }
        if limiter.redis is None:
            return StatusReport(ok=True, detail="in memory (this process only)", facts=local)
        ok = await limiter.ping()
        facts = {
            "storage": redacted_url(self.config.storage),
            "breaker": limiter.breaker.state,
            "fail_open": self.config.fail_open,
            "fallback": local,
        }
        if ok:
            return StatusReport(ok=True, detail="redis answers", facts=facts)
        mode = "limiting per process" if self.config.fail_open else "refusing with 503"
        return StatusReport(
            ok=False, detail=f"redis does not answer ({limiter.last_error}); {mode}", facts=facts
        )

    # --- HTTP ------------------------------------------------------------------------

    def middleware(self, app: ASGIApp) -> ASGIApp:
        from .middleware import RateLimitMiddleware

        return RateLimitMiddleware(app, self)

    def check_routes(self, scope: Any) -> None:
        """Once, on the first request: say which configured routes match no route of this
        server (a typo there would otherwise limit nothing, silently)."""
        self.routes_checked = True
        app = scope.get("litestar_app")
        if app is None:
            return
        served = {getattr(route, "path_format", route.path) for route in app.routes}
        for template in self.book.route_templates:
            if template not in served:
                log.warning(
                    "[plugins.ratelimit] routes: %r matches no route of this server; "
                    "write the route template, e.g. /api/v4/themis/vectors/search",
                    template,
                )
