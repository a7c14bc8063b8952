"""A span per ThemisDB operation under the request's span; on the `http` backend a CLIENT
span per HTTP request, and `traceparent` reaching ThemisDB with the request's trace."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from .support import (
    REMOTE_TRACE_ID,
    TRACEPARENT,
    by_name,
    hex_trace_id,
    recording_themis_lite,
    traced_app,
    traced_client,
)

DOCUMENT = "/api/v4/themis/documents/books/b1"


def parent_of(span: ReadableSpan) -> int:
    assert span.parent is not None
    return span.parent.span_id


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


async def test_adapter_operations_are_spans_under_the_request() -> None:
    async with traced_client() as (client, spans):
        await client.put(DOCUMENT, json={"title": "Dune"})
        spans.clear()
        await client.get(DOCUMENT)
    found = by_name(spans)
    request = found["GET /api/v4/themis/documents/{collection}/{key}"]
    read = found["themis.get_document"]
    assert parent_of(read) == span_id(request)
    assert read.kind is SpanKind.INTERNAL  # the embedded engine runs in this process
    assert dict(read.attributes or {}) == {
        "db.system": "themisdb",
        "db.operation": "get_document",
        "db.collection": "books",
        "themis.backend": "embedded",
        "results.count": 1,
    }
    assert read.status.status_code is StatusCode.UNSET


async def test_a_search_records_top_k_and_results() -> None:
    items = [{"key": k, "vector": v} for k, v in (("a", [1, 0, 0]), ("b", [0, 1, 0]))]
    async with traced_client() as (client, spans):
        await client.post("/api/v4/themis/vectors", json={"collection": "v", "items": items})
        response = await client.post(
            "/api/v4/themis/vectors/search",
            json={"collection": "v", "vector": [1, 0, 0], "top_k": 5},
        )
    assert response.status_code == 200
    search = by_name(spans)["themis.vector_search"]
    attributes = search.attributes or {}
    assert attributes["vector.top_k"] == 5
    assert attributes["results.count"] == 2
    assert attributes["db.collection"] == "v"


async def test_a_failing_operation_has_an_error_status_and_the_exception() -> None:
    async with traced_client() as (client, spans):
        await client.post(
            "/api/v4/themis/vectors",
            json={"collection": "v", "items": [{"key": "a", "vector": [1, 0]}]},
        )
        response = await client.post(
            "/api/v4/themis/vectors/search",
            json={"collection": "v", "vector": [1, 0, 0], "top_k": 3},
        )
    assert response.status_code == 400
    search = by_name(spans)["themis.vector_search"]
    assert search.status.status_code is StatusCode.ERROR
    assert (search.attributes or {})["error.type"] == "DimensionMismatch"
    (event,) = search.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"].endswith("DimensionMismatch")


async def test_operations_of_an_unsampled_request_make_no_spans() -> None:
    unsampled = TRACEPARENT[:-2] + "00"
    async with traced_client() as (client, spans):
        await client.put(DOCUMENT, json={"title": "Dune"}, headers={"traceparent": unsampled})
        await client.get(DOCUMENT, headers={"traceparent": unsampled})
    assert spans.get_finished_spans() == ()


async def test_operations_outside_any_request_are_traces_of_their_own() -> None:
    app, spans = traced_app()
    async with AsyncTestClient(app=app):
        await app.state["themisgate"].adapter.put_document("books", "b1", {"title": "Dune"})
    # called here, in the test, outside the app's lifespan task: the app is not known
    assert spans.get_finished_spans() == ()


# --- the http backend, against themis-lite on a real socket ---------------------------------


def http_backend(url: str) -> dict[str, Any]:
    return {"core": {"themis": {"backend": "http", "url": url}}}


async def test_traceparent_reaches_themisdb_with_the_request_trace() -> None:
    with recording_themis_lite() as (url, received):
        async with traced_client(settings=http_backend(url)) as (client, spans):
            assert (await client.put(DOCUMENT, json={"title": "Dune"})).status_code == 200
            spans.clear()
            received.clear()
            response = await client.get(DOCUMENT, headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    trace_id = format(REMOTE_TRACE_ID, "032x")
    assert response.headers["x-trace-id"] == trace_id
    paths = [path for path, _ in received]
    assert paths == ["/entities/books:b1"]
    headers = received[0][1]
    version, sent_trace_id, parent_id, flags = headers["traceparent"].split("-")
    assert (version, sent_trace_id, flags) == ("00", trace_id, "01")

    found = by_name(spans)
    request = found["GET /api/v4/themis/documents/{collection}/{key}"]
    operation = found["themis.get_document"]
    exchange = found["GET /entities/{key}"]
    # request -> logical operation -> HTTP request, whose id ThemisDB got as its parent
    assert parent_of(operation) == span_id(request)
    assert parent_of(exchange) == span_id(operation)
    assert int(parent_id, 16) == span_id(exchange)
    assert operation.kind is SpanKind.CLIENT  # ThemisDB is a remote database here
    assert (operation.attributes or {})["themis.backend"] == "http"
    assert exchange.kind is SpanKind.CLIENT
    attributes = dict(exchange.attributes or {})
    port = int(url.rsplit(":", 1)[1])
    assert attributes == {
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "server.address": "127.0.0.1",
        "server.port": port,
        "url.full": f"{url}/entities/books:b1",
        "url.template": "/entities/{key}",
    }
    assert exchange.end_time is not None
    assert exchange.start_time is not None
    assert exchange.start_time >= (operation.start_time or 0)
    assert exchange.end_time <= (operation.end_time or 0)


async def test_every_request_to_themisdb_carries_the_trace() -> None:
    items = [{"key": f"k{i}", "vector": [1.0, float(i), 0.0]} for i in range(3)]
    with recording_themis_lite() as (url, received):
        async with traced_client(settings=http_backend(url)) as (client, spans):
            await client.post("/api/v4/themis/vectors", json={"collection": "v", "items": items})
            received.clear()
            spans.clear()
            response = await client.post(
                "/api/v4/themis/vectors/search",
                json={"collection": "v", "vector": [1, 0, 0], "top_k": 3},
            )
    assert response.status_code == 200
    trace_id = response.headers["x-trace-id"]
    assert len(received) >= 2  # the search, then the documents of its hits
    exchanges = {span_id(s): s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT}
    for path, headers in received:
        _, sent_trace_id, parent_id, _ = headers["traceparent"].split("-")
        assert sent_trace_id == trace_id, path
        assert int(parent_id, 16) in exchanges, path  # each request has its own span


async def test_unsampled_requests_still_propagate_their_trace_to_themisdb() -> None:
    unsampled = TRACEPARENT[:-2] + "00"
    with recording_themis_lite() as (url, received):
        async with traced_client(settings=http_backend(url)) as (client, spans):
            await client.get(DOCUMENT, headers={"traceparent": unsampled})
    assert spans.get_finished_spans() == ()
    (_, headers), *_ = [r for r in received if r[0].startswith("/entities/")]
    _version, trace_id, _, flags = headers["traceparent"].split("-")
    assert (trace_id, flags) == (format(REMOTE_TRACE_ID, "032x"), "00")


async def test_a_root_the_sampler_dropped_still_propagates_its_trace_to_themisdb() -> None:
    """No span is recorded, yet ThemisDB hears the trace the response names, marked not
    sampled, so it does not start a trace of its own."""
    with recording_themis_lite() as (url, received):
        async with traced_client(settings=http_backend(url), sampler="parentbased_always_off") as (
            client,
            spans,
        ):
            response = await client.get(DOCUMENT)
    assert spans.get_finished_spans() == ()
    (_, headers), *_ = [r for r in received if r[0].startswith("/entities/")]
    _version, trace_id, _, flags = headers["traceparent"].split("-")
    assert (trace_id, flags) == (response.headers["x-trace-id"], "00")


async def test_a_themisdb_that_is_down_ends_the_request_span_with_an_error() -> None:
    from tests.support.processes import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = http_backend(url)
    settings["core"]["themis"].update(retries=0, connect_timeout=0.5)
    async with traced_client(settings=settings) as (client, spans):
        response = await client.get(DOCUMENT)
    assert response.status_code == 503
    found = by_name(spans)
    exchange = found["GET /entities/{key}"]
    assert exchange.end_time is not None
    assert exchange.status.status_code is StatusCode.ERROR
    assert found["themis.get_document"].status.status_code is StatusCode.ERROR
    assert hex_trace_id(exchange) == response.headers["x-trace-id"]


async def test_a_request_the_connection_layer_never_saw_is_ended_by_its_operation() -> None:
    import httpx
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from themisgate.themis.http import HttpBackend
    from themisgate.themis.settings import ThemisSettings
    from themisgate_tracing import Config, Tracing, resolve
    from themisgate_tracing.themis import ThemisCall

    # a transport below httpcore reports nothing of the exchange, as a pool timeout does not
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "healthy", "version": "test"})

    settings = ThemisSettings(backend="http", url="http://themis.invalid:8765")
    backend = HttpBackend(settings, transport=httpx.MockTransport(answer))
    tracing = Tracing(resolve(Config(exporter="none"), {}))
    spans = InMemorySpanExporter()
    tracing.add_span_processor(SimpleSpanProcessor(spans))
    await backend.start()
    try:
        async with tracing.running(backend):
            with ThemisCall(tracing, "health", {"adapter": "http"}):
                await backend.health()
    finally:
        await backend.close()
    found = by_name(spans)
    operation, exchange = found["themis.health"], found["GET /health"]
    assert exchange.end_time is not None
    assert parent_of(exchange) == span_id(operation)
