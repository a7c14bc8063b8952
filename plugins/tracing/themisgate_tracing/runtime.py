"""`Tracing`: one app's tracing, from its settings to its running SDK pipeline.

Built once per app when the app is assembled (so bad settings stop start-up), started by
the app's lifespan (the provider and its export thread exist only while the app runs, and
a restarted app gets a fresh one) and flushed at shutdown.

Hooks called per operation (`themisgate_adapter_call`, `themisgate_operation`) receive no
app, so the app whose request is running is found in `ACTIVE`, a context variable the
server middleware sets per connection and the lifespan sets for background tasks started
after it. Excluded paths set it to None: what a health probe does is not traced.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import structlog
from opentelemetry.propagate import get_global_textmap
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.trace import Tracer, get_current_span

from themisgate import StatusReport

from .exporters import ReportingExporter, build_exporter, safe_url
from .pipeline import build_provider, describe_sampler, shut_down
from .resolve import TracingSettings
from .roots import PrimedIds, root_bound

log = structlog.get_logger("themisgate.tracing")

INSTRUMENTATION_NAME = "themisgate_tracing"

ACTIVE: ContextVar[Tracing | None] = ContextVar("themisgate_tracing", default=None)


def _plugin_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("themisgate-tracing")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def tracing_for_child() -> Tracing | None:
    """The running app's `Tracing` if a span made now would be kept, else None: a child
    of a span the sampler dropped is dropped too under a parent-based sampler, so it is
    not made at all (the SDK would make a non-recording span, for nothing)."""
    tracing = ACTIVE.get()
    if tracing is None or tracing.tracer is None:
        return None
    if tracing.children_follow_parent:
        parent = get_current_span().get_span_context()
        if parent.is_valid and not parent.trace_flags.sampled:
            return None
    return tracing


class Tracing:
    """One app's tracing. `tracer` is None until the app starts, after it stops, and
    always when `OTEL_SDK_DISABLED=true`: then every hook does nothing."""

    def __init__(self, settings: TracingSettings) -> None:
        self.settings = settings
        self.tracer: Tracer | None = None
        self.provider: TracerProvider | None = None
        self.exporter: ReportingExporter | None = None
        self.propagator: TextMapPropagator = get_global_textmap()
        self._processors: list[SpanProcessor] = []
        self._hooked_backend = False
        # with these samplers a span whose parent is not kept is never kept either
        self.children_follow_parent = settings.sampler.startswith("parentbased_") or (
            settings.sampler == "always_off"
        )
        # roots below this bound are kept; None: every root is (see roots.py)
        self.root_bound = root_bound(settings.sampler, settings.sampler_ratio)
        self.ids = PrimedIds()

    # --- life cycle -----------------------------------------------------------------

    def add_span_processor(self, processor: SpanProcessor) -> None:
        """Send every span of this app to `processor` too (tests, custom pipelines): from
        now on if the app is running, else from its next start; until the app stops, when
        the processor is shut down with the provider."""
        self._processors.append(processor)
        if self.provider is not None:
            self.provider.add_span_processor(processor)

    def start(self) -> None:
        settings = self.settings
        if settings.disabled:
            log.info("tracing disabled by OTEL_SDK_DISABLED")
            return
        inner = build_exporter(settings)
        self.exporter = ReportingExporter(inner, self.target) if inner is not None else None
        self.provider = build_provider(settings, self.exporter, self._processors, self.ids)
        self.tracer = self.provider.get_tracer(INSTRUMENTATION_NAME, _plugin_version())
        log.info(
            "tracing started",
            exporter=settings.exporter,
            target=self.target,
            sampler=describe_sampler(settings.sampler, settings.sampler_ratio),
            service=settings.resource.get("service.name"),
        )

    async def stop(self) -> None:
        provider, self.provider, self.tracer = self.provider, None, None
        self._processors = []
        if provider is None:
            return
        started = time.perf_counter()
        finished = await shut_down(provider, self.exporter, self.settings.export_timeout)
        if finished:
            log.info("tracing stopped", flush_seconds=round(time.perf_counter() - started, 3))
        else:
            log.warning(
                "tracing stopped without flushing every span: the collector did not take "
                "them within the export timeout",
                target=self.target,
                export_timeout=self.settings.export_timeout,
            )

    @contextlib.asynccontextmanager
    async def running(self, backend: Any) -> AsyncIterator[None]:
        """The lifespan: start, trace the requests the ThemisDB backend sends, stop."""
        self.start()
        self.hook_backend(backend)
        ACTIVE.set(self)  # background tasks started after this are traced as this app
        try:
            yield
        finally:
            ACTIVE.set(None)
            await self.stop()

    def hook_backend(self, backend: Any) -> None:
        """Client spans and `traceparent` for every HTTP request to ThemisDB, where the
        backend speaks HTTP (it offers `add_request_hook`); the embedded one does not."""
        add_hook = getattr(backend, "add_request_hook", None)
        if add_hook is None or self._hooked_backend:
            return  # the embedded backend sends no requests; a restart hooks nothing twice
        from .themis import WireRequestSpans

        add_hook(WireRequestSpans(self))
        self._hooked_backend = True

    # --- facts ---------------------------------------------------------------------

    @property
    def target(self) -> str:
        settings = self.settings
        if settings.exporter == "otlp":
            return f"{settings.protocol} {safe_url(settings.endpoint)}"
        return settings.exporter

    async def report(self) -> StatusReport:
        """The `tracing` status check: passive, from the outcome of the last export."""
        settings = self.settings
        facts: dict[str, Any] = {
            "exporter": settings.exporter,
            "target": self.target,
            "sampler": describe_sampler(settings.sampler, settings.sampler_ratio),
            "service.name": settings.resource.get("service.name"),
        }
        if settings.disabled:
            return StatusReport(ok=True, detail="disabled by OTEL_SDK_DISABLED", facts=facts)
        exporter = self.exporter
        if exporter is None:
            return StatusReport(ok=True, detail="spans are not exported", facts=facts)
        facts.update(
            exported_spans=exporter.exported_spans,
            failed_spans=exporter.failed_spans,
            failed_exports=exporter.failed_exports,
        )
        if exporter.failing:
            detail = f"the last export to {self.target} failed ({exporter.last_error})"
            return StatusReport(ok=False, detail=detail, facts=facts)
        detail = "exporting" if exporter.last_success else "no export yet"
        return StatusReport(ok=True, detail=detail, facts=facts)
