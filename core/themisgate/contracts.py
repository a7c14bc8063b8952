"""The values hooks exchange: who is calling, middleware, health checks, API versions,
rate-limit decisions. Plain frozen structs, cheap to build on the hot path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec
from litestar.types import ASGIApp

Scope = Literal["read", "write", "admin"]


ALL_SCOPES: frozenset[str] = frozenset({"read", "write", "admin"})


class Identity(msgspec.Struct, frozen=True):
    """Who is calling: `kind` is "user", "api_key" or "ip" (anonymous); `id` is stable per
    caller; `tier` picks rate-limit policies; `scopes` are what the caller may do."""

    kind: str
    id: str
    tier: str
    scopes: frozenset[str] = frozenset({"read"})

    @property
    def anonymous(self) -> bool:
        return self.kind == "ip"

    @property
    def key(self) -> str:
        """A compact, unique key for buckets and logs: `api_key:k1`, `ip:10.0.0.1`."""
        return f"{self.kind}:{self.id}"

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


class Middleware(msgspec.Struct, frozen=True):
    """An ASGI middleware contributed by a plugin: higher `priority` runs first.

    By default it wraps the whole app, router included, and sees every request (404s
    too). With `after_routing=True` it runs only for requests that matched a route, after
    the router, so `scope["route_handler"]` (its `opt`) and `scope["path_template"]` are
    known before it calls on: what a per-route rate limit needs. Errors it raises there are
    answered as problem+json like a handler's."""

    name: str
    priority: int
    factory: Callable[[ASGIApp], ASGIApp]
    after_routing: bool = False


class StatusReport(msgspec.Struct, frozen=True):
    ok: bool
    detail: str = ""
    facts: dict[str, Any] = {}


class StatusCheck(msgspec.Struct, frozen=True):
    """A readiness check. `required` checks that fail make `/ready` answer 503."""

    name: str
    check: Callable[[], Awaitable[StatusReport]]
    required: bool = True
    timeout: float = 2.0


class ApiVersion(msgspec.Struct, frozen=True):
    name: str
    path: str
    status: Literal["current", "deprecated", "retired", "preview"] = "current"
    sunset: dt.date | None = None
    docs: str | None = None
    openapi: str | None = None


class RateDecision(msgspec.Struct, frozen=True):
    """The answer to "may this caller spend `cost` now?"; `retry_after` in seconds."""

    allowed: bool
    limit: int | None = None
    remaining: int | None = None
    retry_after: float = 0.0
    reset_after: float = 0.0
    policy: str | None = None


ALLOW_ALL = RateDecision(allowed=True)
