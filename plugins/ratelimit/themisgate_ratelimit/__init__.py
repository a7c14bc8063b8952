"""themisgate plugin: GCRA rate limits per user, API key or IP, with tiers, in memory or Redis.

    [plugins.ratelimit]
    storage = "redis://127.0.0.1:6379/0"   # or "memory://" for one process
    default = "60/minute"

    [plugins.ratelimit.tiers]
    free = "10/minute"
    premium = "100/minute burst 200"

    [[plugins.ratelimit.routes]]
    route = "/api/v4/themis/vectors/search"
    limits = ["10/second", "1000/hour"]

HTTP requests are limited by a route-stage middleware (priority 700); GraphQL operations
and WebSocket messages by `await ctx.rate_limit(identity, key, cost)`. docs/ratelimit.md
has every setting, the algorithm and the failure modes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from themisgate import AppContext, Identity, Middleware, StatusCheck, hookimpl

from .breaker import CircuitBreaker
from .config import Config, RouteLimit
from .gcra import Policy, PolicyState, Verdict
from .limiter import Limiter
from .memory import MemoryStore
from .policies import PolicyBook
from .rates import Rate, RateError, parse_rate
from .redis_store import RedisStore
from .runtime import RateLimiting, runtime_for

__all__ = [
    "CircuitBreaker",
    "Config",
    "Limiter",
    "MemoryStore",
    "Policy",
    "PolicyBook",
    "PolicyState",
    "Rate",
    "RateError",
    "RateLimiting",
    "RedisStore",
    "RouteLimit",
    "Verdict",
    "parse_rate",
    "runtime_for",
]

PRIORITY = 700  # after auth (800), before metrics (600)


def themisgate_middleware(ctx: AppContext) -> Sequence[Middleware]:
    runtime = runtime_for(ctx)
    return [
        Middleware(
            "ratelimit",
            PRIORITY,
            runtime.middleware,
            after_routing=True,
            applies_to=runtime.book.limits_route,
        )
    ]


def themisgate_lifespan(
    ctx: AppContext,
) -> Sequence[Callable[[], AbstractAsyncContextManager[Any]]]:
    runtime = runtime_for(ctx)

    @contextlib.asynccontextmanager
    async def store() -> AsyncIterator[None]:
        await runtime.limiter.start()
        try:
            yield
        finally:
            await runtime.limiter.stop()

    return [store]


def themisgate_status(ctx: AppContext) -> Sequence[StatusCheck]:
    runtime = runtime_for(ctx)
    timeout = runtime.config.connect_timeout + 1.0
    return [StatusCheck("ratelimit", runtime.status, required=False, timeout=timeout)]


@hookimpl(trylast=True)
def themisgate_rate_limit(identity: Identity, key: str, cost: int, ctx: AppContext) -> Any:
    return runtime_for(ctx).rate_limit(identity, key, cost)
