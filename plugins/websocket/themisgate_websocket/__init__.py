"""themisgate plugin: streaming search, live status and log streams over WebSocket and SSE.

    [plugins.websocket]
    redis_url = "redis://127.0.0.1:6379/0"   # several instances; unset: this process only

Endpoints (docs/websocket-protocol.md has every message, docs/websocket.md every setting):

    WS   /api/v4/ws/search?client_id=…     search, ping, broadcast, personal messages
    WS   /api/v4/ws/adapter/status         the adapter's status, periodically and on change
    WS   /api/v4/ws/logs?log_level=INFO    live log records (admin)
    GET  /api/v4/events/status             the same as Server-Sent Events
    GET  /api/v4/events/logs               (admin; resumes after Last-Event-ID)
    GET  /websocket                        a JavaScript client page

Other plugins add actions with `themisgate_websocket_actions` (`themisgate.WebSocketAction`);
metrics and tracing see connections and messages through the `ws_*` and `sse_stream`
events and `ctx.operation("websocket", action, …)`, without importing this plugin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from themisgate import AppContext, Middleware, StatusCheck, StatusReport, hookimpl

from . import admin, endpoints, sse
from .bus import Bus, LocalBus, RedisBus
from .config import Config
from .connection import Connection
from .credentials import OPT_KEY as BEARER_OPT
from .credentials import PRIORITY as CREDENTIALS_PRIORITY
from .credentials import BearerInUrl
from .hub import Hub
from .logstream import LogStream
from .page import page_routes
from .runtime import WebSocketRuntime, runtime_for
from .statusfeed import StatusFeed

__all__ = [
    "Bus",
    "Config",
    "Connection",
    "Hub",
    "LocalBus",
    "LogStream",
    "RedisBus",
    "StatusFeed",
    "WebSocketRuntime",
    "runtime_for",
]


@hookimpl
def themisgate_routes(ctx: AppContext) -> list[Any]:
    runtime = runtime_for(ctx)
    runtime.collect_actions()
    routes: list[Any] = [*endpoints.ROUTES, *sse.ROUTES, *admin.ROUTES]
    if runtime.config.client_page:
        routes.extend(page_routes(runtime.config.client_page))
    return routes


@hookimpl
def themisgate_middleware(ctx: AppContext) -> Sequence[Middleware]:
    return [
        Middleware(
            "websocket-credentials",
            CREDENTIALS_PRIORITY,
            BearerInUrl,
            after_routing=True,
            applies_to=lambda handler: bool(handler.opt.get(BEARER_OPT)),
        )
    ]


@hookimpl
def themisgate_lifespan(
    ctx: AppContext,
) -> Sequence[Callable[[], AbstractAsyncContextManager[Any]]]:
    runtime = runtime_for(ctx)

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        async with runtime.running():
            yield

    return [running]


@hookimpl
def themisgate_status(ctx: AppContext) -> Sequence[StatusCheck]:
    runtime = runtime_for(ctx)

    async def check() -> StatusReport:
        return await runtime.report()

    timeout = runtime.config.redis_timeout_seconds + 0.5
    return [StatusCheck("websocket", check, required=False, timeout=timeout)]
