"""The whole plugin contract of themisgate, in one file.

A plugin is a module (or any object) registered under the entry-point group `themisgate`
and enabled in `plugins.toml`. It implements some of the hooks below as functions named
exactly like them (the `@hookimpl` decorator is optional; it adds `tryfirst`, `trylast`,
`wrapper`). It may also carry metadata the loader reads before any hook runs:

    Config    a msgspec Struct: the plugin's `[plugins.<name>]` table, validated at start-up
    priority  int, default 0: among plugins with no `requires` between them, higher starts first
    requires  list of other plugin names that must be enabled and are started before this one

When hooks run
--------------
Start-up hooks (`themisgate_routes`, `themisgate_middleware`, `themisgate_lifespan`,
`themisgate_status`, `themisgate_api_versions`, `themisgate_embedder`, the surface hooks
of GraphQL and WebSocket) are called once by `create_app()` and their answers kept:
nothing per request calls them again. Per-call hooks (`themisgate_identify`,
`themisgate_adapter_call`, `themisgate_event`, `themisgate_rate_limit`) are skipped
entirely when no enabled plugin implements them.

Every hook taking `ctx` receives the same `AppContext`: settings, `ctx.config(name)` for a
plugin's own typed config, the ThemisDB adapter, and `ctx.emit()` for events.

Set `THEMISGATE_TRACE_HOOKS=1` to log every hook call with its arguments and results.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from litestar.connection import ASGIConnection
    from litestar.types import ControllerRouterHandler

    from .context import AppContext
    from .contracts import ApiVersion, Identity, Middleware, RateDecision, StatusCheck
    from .themis import Embedder, EmbedderSettings

PROJECT = "themisgate"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- assembling the app (called once by create_app) -------------------------------------


@hookspec
def themisgate_routes(ctx: AppContext) -> Sequence[ControllerRouterHandler] | None:
    """Route handlers, controllers or routers to mount on the app.

    Two plugins claiming the same method and path stop start-up with an error naming both.
    Declare the scope a route needs with `opt={"scope": "read" | "write" | "admin"}`; the
    auth plugin enforces it.

        @get("/hello")
        async def hello() -> dict[str, str]:
            return {"hello": "world"}

        def themisgate_routes(ctx):
            return [hello]
    """


@hookspec
def themisgate_middleware(ctx: AppContext) -> Sequence[Middleware] | None:
    """ASGI middleware, each with an integer `priority`: higher runs first (outermost).

    Conventional priorities: tracing 1000, request id 900 (core), auth 800, rate limits 700,
    metrics 600. The factory is called once with the next ASGI app and returns an ASGI app.

        def themisgate_middleware(ctx):
            return [Middleware(name="timing", priority=650, factory=TimingMiddleware)]
    """


@hookspec
def themisgate_lifespan(ctx: AppContext) -> Sequence[AbstractAsyncContextManager[Any]] | None:
    """Async context managers entered at start-up (in plugin order) and left at shutdown
    (in reverse): connection pools, exporters, background tasks.

        @contextlib.asynccontextmanager
        async def redis_pool():
            pool = redis.asyncio.from_url(...)
            yield
            await pool.aclose()

        def themisgate_lifespan(ctx):
            return [redis_pool()]
    """


@hookspec
def themisgate_status(ctx: AppContext) -> Sequence[StatusCheck] | None:
    """Health checks this plugin contributes to `GET /ready` and `GET /-/plugins`.

    Each `StatusCheck` has a name, an async `check()` returning a `StatusReport`, whether
    the server is not ready while it fails (`required`), and a timeout. Checks run only when
    readiness is asked for, concurrently, each bounded by its timeout.

        def themisgate_status(ctx):
            return [StatusCheck("redis", check=ping_redis, required=True, timeout=1.0)]
    """


@hookspec
def themisgate_api_versions(ctx: AppContext) -> Sequence[ApiVersion] | None:
    """API versions this plugin serves, listed by `GET /api` with status and sunset.

    def themisgate_api_versions(ctx):
        return [ApiVersion("v3", "/api/v3", status="deprecated", sunset=date(2026, 12, 31))]
    """


@hookspec(firstresult=True)
def themisgate_embedder(ctx: AppContext, settings: EmbedderSettings) -> Embedder | None:
    """The text→vector embedder named by `[core.themis.embedder] name`; first non-None wins.
    Return None for names you do not provide. The core provides `hashing` and `openai`.

        def themisgate_embedder(ctx, settings):
            if settings.name == "my-model":
                return MyEmbedder(settings)
    """


@hookspec
def themisgate_graphql_fields(ctx: AppContext) -> Sequence[Any] | None:
    """Fields this plugin adds to the GraphQL `Query` type, as `GraphQLField`s: plain
    Python (a name, a resolver, a description, the scope a caller needs, a cost), so the
    plugin imports neither strawberry nor the GraphQL plugin. Called once, when that plugin
    builds its schema at start-up; a name that is taken or not a GraphQL name stops
    start-up naming the plugin. The resolver's annotated parameters become the field's
    arguments and its return annotation the field's type (see docs/graphql.md).

        from themisgate import GraphQLField

        def themisgate_graphql_fields(ctx):
            async def hello(name: str) -> str:
                return f"Hello, {name}!"

            return [GraphQLField(name="hello", resolver=hello, description="A greeting.")]
    """


@hookspec
def themisgate_websocket_actions(ctx: AppContext) -> Sequence[Any] | None:
    """Actions this plugin adds to the WebSocket protocol, as `WebSocketAction`s: a name,
    an async handler `(message: dict, identity) -> frame | None` (or an async generator of
    frames), the scope a caller needs, a rate-limit cost. Called once, when the WebSocket
    plugin starts; a name that is taken stops start-up naming the plugin (see
    docs/websocket-protocol.md).

        from themisgate import WebSocketAction

        def themisgate_websocket_actions(ctx):
            async def echo(message, identity):
                return {"type": "echo", "text": message.get("text", "")}

            return [WebSocketAction(name="echo", handler=echo, description="Echoes text.")]
    """


@hookspec
def themisgate_cli(cli: click.Group) -> None:
    """Add commands to the `themisgate` command line.

    def themisgate_cli(cli):
        @cli.command()
        def hello():
            click.echo("hello")
    """


# --- per request / per call (skipped when nobody implements them) -----------------------


@hookspec(firstresult=True)
def themisgate_identify(
    request: ASGIConnection[Any, Any, Any, Any], ctx: AppContext
) -> Identity | Awaitable[Identity | None] | None:
    """Who is calling: `request` is an HTTP request or a WebSocket connection, `ctx` the
    app it reached (one process may run several apps: read settings from it). The first
    non-None answer wins. May return an awaitable. Raise `ProblemError(401, ...)` to refuse
    bad credentials — never answer an unknown key with an anonymous identity. Asked at most
    once per connection, and only when something (a rate limit, a scope check, a handler)
    needs the identity.

    As soon as one plugin implements this hook, the core checks each route's
    `opt["scope"]` against `Identity.scopes` (401 for anonymous callers, 403 otherwise).
    With none, the server is open: every caller is its IP, holding every scope.

        def themisgate_identify(request, ctx):
            key = request.headers.get("x-api-key")
            if key:
                return Identity("api_key", lookup(key), "premium", frozenset({"read"}))
    """


@hookspec
def themisgate_adapter_call(
    operation: str, attributes: dict[str, Any]
) -> AbstractContextManager[Any] | None:
    """A context manager wrapped around one ThemisDB adapter operation.

    `operation` is e.g. "vector_search", "get_document"; `attributes` holds
    `adapter`, `db.collection`, `vector.top_k`… before the call, and the adapter adds
    results (`results.count`) before the context exits, so a plugin reads them in
    `__exit__`. An exception raised by the operation passes through `__exit__`.

        @contextlib.contextmanager
        def themisgate_adapter_call(operation, attributes):
            started = time.perf_counter()
            try:
                yield
            finally:
                LATENCY.labels(operation).observe(time.perf_counter() - started)
    """


@hookspec
def themisgate_operation(
    surface: str, name: str, attributes: dict[str, Any]
) -> AbstractContextManager[Any] | None:
    """A context manager wrapped around one operation of a surface that is not a plain HTTP
    request: a GraphQL operation (`surface="graphql"`, `name` the operation name), a
    WebSocket message (`surface="websocket"`, `name` the action). Like
    `themisgate_adapter_call`: `attributes` may gain results before the context exits, and
    an exception passes through `__exit__`. Metrics and tracing implement it; the GraphQL
    and WebSocket plugins call `ctx.operation(surface, name, attributes)`. See docs/events.md.
    """


@hookspec
def themisgate_event(name: str, payload: dict[str, Any]) -> None:
    """A fire-and-forget event from one plugin to any other (`rate_limited`,
    `auth_failed`, `ws_connected`…; every event and its payload is listed in
    docs/events.md). Must not block; a listener that raises is logged and the others still
    get the event. Send with `ctx.emit(name, payload)`."""


@hookspec(firstresult=True)
def themisgate_rate_limit(
    identity: Identity, key: str, cost: int, ctx: AppContext
) -> RateDecision | Awaitable[RateDecision] | None:
    """Charge `cost` to `identity` for `key` (e.g. "graphql", "ws:search") in the app
    `ctx` and say whether it is allowed. Implemented by the rate-limit plugin; called by
    surfaces that are not plain HTTP requests. With no implementer, everything is
    allowed. Use `await ctx.rate_limit(identity, key, cost)` rather than calling the hook
    directly."""
