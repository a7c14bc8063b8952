"""The SDK pipeline of one app: sampler, resource, tracer provider, batch processor, and a
shutdown that flushes what is queued without ever outlasting the export timeout.

The provider is the app's own, never the process-wide global one: tests build many apps
in one process, and two apps in one process must not share (or shut down) each other's
spans. Spans are queued by the batch processor (a bounded queue, exported from its own
thread), so a slow or unreachable collector never makes a request wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

from .resolve import TracingSettings


def build_sampler(name: str, ratio: float) -> Sampler:
    """The sampler `OTEL_TRACES_SAMPLER` names, with the same meaning."""
    root: Sampler = (
        TraceIdRatioBased(ratio)
        if name.endswith("traceidratio")
        else (ALWAYS_OFF if name.endswith("always_off") else ALWAYS_ON)
    )
    return ParentBased(root) if name.startswith("parentbased_") else root


def describe_sampler(name: str, ratio: float) -> str:
    return f"{name}({ratio:g})" if name.endswith("traceidratio") else name


def build_provider(
    settings: TracingSettings,
    exporter: SpanExporter | None,
    processors: Sequence[SpanProcessor] = (),
    id_generator: IdGenerator | None = None,
) -> TracerProvider:
    provider = TracerProvider(
        sampler=build_sampler(settings.sampler, settings.sampler_ratio),
        resource=Resource.create(settings.resource),
        id_generator=id_generator,
        shutdown_on_exit=False,  # the lifespan shuts it down, bounded; atexit would not be
    )
    if exporter is not None:
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                max_queue_size=settings.max_queue_size,
                max_export_batch_size=settings.max_export_batch_size,
                schedule_delay_millis=settings.schedule_delay * 1000,
                export_timeout_millis=settings.export_timeout * 1000,
            )
        )
    for processor in processors:
        provider.add_span_processor(processor)
    return provider


async def shut_down(provider: TracerProvider, exporter: SpanExporter | None, wait: float) -> bool:
    """Flush queued spans and stop the provider, waiting at most `wait` seconds.

    The SDK's own shutdown may wait for every queued batch, each up to the export timeout,
    when the collector is unreachable. It runs in a daemon thread here; past `wait` the
    exporter is shut down, which ends its retries, and the app stops without it. Returns
    whether the flush finished in time."""
    finished = threading.Event()

    def run() -> None:
        try:
            provider.shutdown()
        finally:
            finished.set()

    threading.Thread(target=run, name="themisgate-tracing-shutdown", daemon=True).start()
    if await asyncio.to_thread(finished.wait, wait):
        return True
    if exporter is not None:
        exporter.shutdown()
    return False
