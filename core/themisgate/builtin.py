"""The core's own features, registered as the plugin `core` through the same hooks any
plugin uses: the system routes, the v4 API, ThemisDB readiness, the default embedders,
and the adapter's lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from litestar.types import ControllerRouterHandler

from .api.system import system_routes
from .authorization import scope_check
from .context import AppContext
from .contracts import ApiVersion, Middleware, StatusCheck, StatusReport
from .hookspecs import hookimpl
from .requestcontext import REQUEST_CONTEXT_PRIORITY, request_context_factory
from .themis.errors import ThemisError
from .themis.protocol import Embedder
from .themis.settings import EmbedderSettings

name = "core"
V4_PATH = "/api/v4"


def themisgate_routes(ctx: AppContext) -> Sequence[ControllerRouterHandler]:
    from .api.v4 import ROUTES as V4_ROUTES

    return [*system_routes(ctx), *V4_ROUTES]


def themisgate_middleware(ctx: AppContext) -> Sequence[Middleware]:
    core = ctx.settings.core
    factory = request_context_factory(core.request_id_header, core.access_log)
    middleware = [Middleware("request-context", REQUEST_CONTEXT_PRIORITY, factory)]
    if ctx.checks_scopes:
        middleware.append(scope_check(ctx))
    return middleware


def themisgate_api_versions(ctx: AppContext) -> Sequence[ApiVersion]:
    return [
        ApiVersion(
            "v4",
            V4_PATH,
            status="current",
            docs=f"{V4_PATH}/docs",
            openapi=f"{V4_PATH}/openapi.json",
        )
    ]


def themisgate_status(ctx: AppContext) -> Sequence[StatusCheck]:
    async def themis() -> StatusReport:
        try:
            health = await ctx.adapter.health()
        except ThemisError as exc:
            return StatusReport(ok=False, detail=exc.message, facts={"backend": ctx.adapter.name})
        return StatusReport(
            ok=health.status == "healthy",
            detail=health.status,
            facts={"backend": health.backend, "version": health.version},
        )

    timeout = ctx.settings.core.themis.connect_timeout + 1.0
    return [StatusCheck("themisdb", themis, required=True, timeout=timeout)]


@hookimpl(trylast=True)  # the built-in embedders answer only if no plugin does
def themisgate_embedder(ctx: AppContext, settings: EmbedderSettings) -> Embedder | None:
    if settings.name not in ("hashing", "openai"):
        return None
    from .themis.embedders import create_embedder

    return create_embedder(settings)


def themisgate_lifespan(ctx: AppContext) -> Sequence[Any]:
    @contextlib.asynccontextmanager
    async def adapter() -> AsyncIterator[None]:
        await ctx.adapter.start()
        try:
            yield
        finally:
            await ctx.adapter.close()

    return [adapter]
