"""The values hooks exchange: who is calling, middleware, health checks, API versions,
rate-limit decisions, GraphQL fields. Plain frozen structs, cheap to build on the hot path."""

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
    answered as problem+json like a handler's.

    `applies_to(route_handler)`, for after-routing middleware, says once per route whether
    the middleware has anything to do there (say, `lambda h: "scope" in h.opt`); routes
    it does not apply to never pass through it."""

    name: str
    priority: int
    factory: Callable[[ASGIApp], ASGIApp]
    after_routing: bool = False
    applies_to: Callable[[Any], bool] | None = None


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


class GraphQLField(msgspec.Struct, frozen=True, kw_only=True):
    """A field a plugin adds to the GraphQL `Query` type (`themisgate_graphql_fields`),
    described in plain Python so the plugin needs neither strawberry nor the GraphQL
    plugin: that plugin turns it into a schema field once, at start-up.

    `resolver` is a function (async if it does I/O) whose annotated parameters become the
    field's arguments (`str`, `int`, `float`, `bool`, `X | None = default`, lists of these)
    and whose return annotation becomes its type (`dict` → the `JSON` scalar). The caller
    must hold `scope`; `cost` is what one selection of the field adds to the operation's
    estimated cost, charged to the rate limiter."""

    name: str
    resolver: Callable[..., Any]
    description: str | None = None
    scope: Scope = "read"
    cost: int = 1


class WebSocketAction(msgspec.Struct, frozen=True, kw_only=True):
    """An action a plugin adds to the WebSocket protocol (`themisgate_websocket_actions`),
    in plain Python so the plugin needs neither the WebSocket plugin nor Litestar's
    WebSocket. A client sends `{"action": name, ...}`; the WebSocket plugin checks that the
    caller holds `scope`, charges `cost` to the rate limiter, and calls
    `handler(message, identity)` with the message as a dict. The handler is an async
    function returning one frame (a dict with a `type`) or None, or an async generator
    yielding frames, each sent as soon as it is yielded. Raising `ValueError` answers the
    client with an `invalid_field` error frame; the connection stays open."""

    name: str
    handler: Callable[..., Any]
    description: str | None = None
    scope: Scope = "read"
    cost: int = 1
