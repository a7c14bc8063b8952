"""Trace ids on histogram buckets while the tracing plugin is on (OpenMetrics only)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler

import themisgate_metrics
from themisgate import Middleware
from themisgate.testing import plugin_client

from .scrape import OPENMETRICS, Scrape
from .support import Named

DURATION_BUCKET = "http_server_request_duration_seconds_bucket"


def tracing_stand_in(name: str, trace_ids: list[str], sampler: Sampler = ALWAYS_ON) -> Named:
    """What the tracing plugin does for this purpose: a current span around each request."""
    tracer = TracerProvider(sampler=sampler).get_tracer("tests")

    def factory(app: Any) -> Any:
        async def traced(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            with tracer.start_as_current_span("request") as span:
                trace_ids.append(format(span.get_span_context().trace_id, "032x"))
                await app(scope, receive, send)

        return traced

    return Named(name, themisgate_middleware=lambda ctx: [Middleware(name, 1000, factory)])


async def test_histogram_buckets_carry_the_trace_id_while_tracing_is_on() -> None:
    trace_ids: list[str] = []
    async with plugin_client(themisgate_metrics, tracing_stand_in("tracing", trace_ids)) as client:
        await client.get("/health")
        await client.put("/api/v4/themis/documents/books/b1", json={"t": 1})
        response = await client.get("/metrics", headers={"accept": OPENMETRICS})
    found = Scrape(response.text, openmetrics=True)
    health_trace, put_trace = trace_ids[0], trace_ids[1]
    (health,) = [
        s for s in found.find(DURATION_BUCKET, http_route="/health") if s.exemplar is not None
    ]
    assert health.exemplar.labels == {"trace_id": health_trace}
    adapter = [
        s.exemplar.labels["trace_id"]
        for s in found.find("adapter_latency_seconds_bucket", operation="put_document")
        if s.exemplar is not None
    ]
    assert adapter == [put_trace]


async def test_no_exemplars_without_the_tracing_plugin() -> None:
    trace_ids: list[str] = []
    other = tracing_stand_in("not-tracing", trace_ids)
    async with plugin_client(themisgate_metrics, other) as client:
        await client.get("/health")
        response = await client.get("/metrics", headers={"accept": OPENMETRICS})
    found = Scrape(response.text, openmetrics=True)
    assert trace_ids  # a span was current
    assert all(s.exemplar is None for s in found.samples)


async def test_a_trace_the_sampler_dropped_is_no_exemplar() -> None:
    """It is never exported, so a bucket linking to it would link nowhere."""
    trace_ids: list[str] = []
    dropping = tracing_stand_in("tracing", trace_ids, sampler=ALWAYS_OFF)
    async with plugin_client(themisgate_metrics, dropping) as client:
        await client.get("/health")
        await client.put("/api/v4/themis/documents/books/b1", json={"t": 1})
        response = await client.get("/metrics", headers={"accept": OPENMETRICS})
    found = Scrape(response.text, openmetrics=True)
    assert len(trace_ids) >= 2  # a (non-recording) span with a valid id was current
    assert found.find(DURATION_BUCKET, http_route="/health")
    assert all(s.exemplar is None for s in found.samples)
