"""themisgate plugin: Prometheus metrics for HTTP, ThemisDB, rate limits, WebSocket and GraphQL.

    [plugins.metrics]
    path = "/metrics"

HTTP requests are measured by a middleware around the whole app, ThemisDB operations
through `themisgate_adapter_call`, and the other plugins' decisions through their events
(docs/events.md). `ENABLE_METRICS=false` in the environment switches all of it off. With
several workers, prometheus-client's multiprocess mode is set up by itself (workers.py).
The operator guide is docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from litestar.types import ControllerRouterHandler

from themisgate import AppContext, ConfigError, Middleware, Problem, StatusCheck, hookimpl

from . import workers
from .apps import current
from .config import ENABLE_ENV, Config, metrics_enabled

if TYPE_CHECKING:
    from .app_metrics import AppMetrics

__all__ = ["ENABLE_ENV", "Config"]

PLUGIN = "metrics"


def _metrics(ctx: AppContext) -> AppMetrics | None:
    """This app's metrics (None: switched off), built by the first start-up hook that
    asks."""
    return ctx.plugin_state(__name__, lambda: _build(ctx))


def _build(ctx: AppContext) -> AppMetrics | None:
    built: AppMetrics | None = None
    if metrics_enabled():
        config: Config = ctx.config(PLUGIN)
        try:
            directory = workers.choose_directory(config)
        except OSError as error:
            problem = f"cannot prepare the multiprocess directory: {error}"
            where = ctx.settings.source
            table = f"plugins.{PLUGIN}"
            raise ConfigError([Problem(where, table, "multiprocess_dir", problem)]) from None
        # prometheus-client is first imported here, once its storage is decided
        from .app_metrics import AppMetrics

        built = AppMetrics(ctx, config, directory)
    return built


@hookimpl
def themisgate_routes(ctx: AppContext) -> Sequence[ControllerRouterHandler]:
    metrics = _metrics(ctx)
    return [metrics.route()] if metrics else []


@hookimpl
def themisgate_middleware(ctx: AppContext) -> Sequence[Middleware]:
    metrics = _metrics(ctx)
    return [metrics.middleware()] if metrics else []


@hookimpl
def themisgate_lifespan(ctx: AppContext) -> Sequence[Any]:
    metrics = _metrics(ctx)
    return [metrics.running] if metrics else []


@hookimpl
def themisgate_status(ctx: AppContext) -> Sequence[StatusCheck]:
    metrics = _metrics(ctx)
    return [metrics.status()] if metrics else []


@hookimpl
def themisgate_adapter_call(
    operation: str, attributes: dict[str, Any]
) -> AbstractContextManager[Any] | None:
    metrics = current()
    return metrics.adapter.observe(operation, attributes) if metrics else None


@hookimpl
def themisgate_event(name: str, payload: dict[str, Any]) -> None:
    metrics = current()
    if metrics is not None:
        metrics.handle(name, payload)
