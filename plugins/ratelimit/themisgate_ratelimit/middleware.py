"""The HTTP side: a route-stage middleware (it runs after the router, so the route
template is known, and before the handler) that charges each request, refuses with 429,
and adds the RateLimit fields to the response."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Receive, Send

from themisgate import Identity, ProblemError, response_facts

from .responses import allowed_field, backend_unavailable, quota_exceeded

if TYPE_CHECKING:
    from .runtime import RateLimiting


class RateLimitMiddleware:
    """Runs after routing (the route template is known) and before the handler."""

    def __init__(self, app: ASGIApp, runtime: RateLimiting) -> None:
        self.app = app
        self.runtime = runtime
        self.book = runtime.book
        self.limiter = runtime.limiter
        self.identify = runtime.ctx.identify

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        # WebSocket messages are charged through the hook; CORS preflights (OPTIONS) carry
        # no credentials and must not eat the caller's budget
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        runtime = self.runtime
        if not runtime.routes_checked:
            runtime.check_routes(scope)
        book = self.book
        template: str = scope.get("path_template") or scope["path"]
        handler = scope.get("route_handler")
        if book.exempt(template, scope["path"], handler.opt if handler is not None else None):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if book.allow_networks and client and book.allowed_client(client[0]):
            await self.app(scope, receive, send)
            return
        # identify takes any connection; a Request would build its body machinery too
        request: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope, receive)
        try:
            identity = await self.identify(request)
        except ProblemError as refused:
            if refused.status_code == 401:  # guessing credentials is limited by address
                await self._charge_refused_credentials(request, template, scope["method"], refused)
            raise
        caller = identity.key
        plan = book.http_plan(template, scope["method"], identity.tier)
        if plan is None or caller in book.allow_identities or self._allowed(identity):
            await self.app(scope, receive, send)
            return
        verdict = await self.limiter.charge(caller, plan.policies, 1)
        if verdict is None:
            raise backend_unavailable(self.limiter.retry_in())
        runtime.report(plan, identity, verdict)
        if not verdict.allowed:
            raise quota_exceeded(verdict, plan.policy_header)
        if runtime.headers:  # the core's request context adds them as the response starts
            response_facts(scope).headers += (
                (b"ratelimit-policy", plan.policy_header),
                (b"ratelimit", allowed_field(verdict)),
            )
        await self.app(scope, receive, send)

    async def _charge_refused_credentials(
        self,
        request: ASGIConnection[Any, Any, Any, Any],
        template: str,
        method: str,
        refused: ProblemError,
    ) -> None:
        """A caller whose credentials were refused is charged as its address: whoever
        tries keys or tokens one after another meets a 429 instead of endless 401s."""
        identity = self.runtime.ctx.fallback_identity(request)
        if self._allowed(identity):
            return
        plan = self.book.http_plan(template, method, identity.tier)
        if plan is None:
            return
        verdict = await self.limiter.charge(identity.key, plan.policies, 1)
        if verdict is None:
            return
        self.runtime.report(plan, identity, verdict)
        if not verdict.allowed:
            raise quota_exceeded(verdict, plan.policy_header) from refused

    def _allowed(self, identity: Identity) -> bool:
        """An anonymous caller's address as the auth plugin resolved it (behind trusted
        proxies) may be in `allow_cidrs` even when the connection's is not."""
        book = self.book
        return bool(book.allow_networks) and identity.anonymous and book.allowed_client(identity.id)
