"""themisgate plugin: OpenTelemetry traces for requests and ThemisDB calls, exported over OTLP.

A SERVER span per HTTP request (outermost middleware), a span per ThemisDB operation and
per HTTP request to ThemisDB (with `traceparent` injected), a span per GraphQL operation
and WebSocket message; trace and span ids in every log record and the trace id in a
response header. Settings: `[plugins.tracing]` and the standard `OTEL_*` variables
(docs/tracing.md).

    [plugins.tracing]
    endpoint = "http://jaeger:4318"
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp

from themisgate import AppContext, Middleware, StatusCheck

from .config import Config
from .operations import Operation
from .resolve import TABLE, TracingSettings, resolve
from .runtime import Tracing, tracing_for_child
from .server import ServerSpans
from .themis import ThemisCall

__all__ = ["Config", "Tracing", "TracingSettings", "resolve", "tracing_of"]

name = "tracing"
priority = 1000  # starts first after the core, stops last: it flushes what others traced
MIDDLEWARE_PRIORITY = 1000  # outermost: the span covers every other middleware


def _runtime(ctx: AppContext) -> Tracing:
    """This app's `Tracing`, built on first use from its settings and the environment."""
    settings = ctx.settings

    def origin(key: str) -> str:
        return settings.origins.get(f"{TABLE}.{key}", settings.source)

    def build() -> Tracing:
        config: Config = ctx.config(name)
        return Tracing(resolve(config, os.environ, origin))

    return ctx.plugin_state(__name__, build)


def tracing_of(app: Litestar) -> Tracing:
    """The `Tracing` of an app built with this plugin enabled (its provider, exporter,
    and `add_span_processor` for tests and custom pipelines)."""
    ctx: AppContext = app.state["themisgate"]
    if not ctx.enabled(name):
        raise LookupError("the tracing plugin is not enabled in this app")
    return _runtime(ctx)


# --- start-up hooks ------------------------------------------------------------------------


def themisgate_middleware(ctx: AppContext) -> Sequence[Middleware]:
    tracing = _runtime(ctx)

    def factory(app: ASGIApp) -> ASGIApp:
        return ServerSpans(app, tracing)

    return [Middleware(name="tracing", priority=MIDDLEWARE_PRIORITY, factory=factory)]


def themisgate_lifespan(ctx: AppContext) -> Sequence[Any]:
    tracing = _runtime(ctx)
    return [lambda: tracing.running(ctx.adapter.backend)]


def themisgate_status(ctx: AppContext) -> Sequence[StatusCheck]:
    return [StatusCheck("tracing", _runtime(ctx).report, required=False, timeout=1.0)]


# --- per call --------------------------------------------------------------------------


def themisgate_adapter_call(
    operation: str, attributes: dict[str, Any]
) -> AbstractContextManager[Any] | None:
    tracing = tracing_for_child()
    return None if tracing is None else ThemisCall(tracing, operation, attributes)


def themisgate_operation(
    surface: str, name: str, attributes: dict[str, Any]
) -> AbstractContextManager[Any] | None:
    tracing = tracing_for_child()
    return None if tracing is None else Operation(tracing, surface, name, attributes)
