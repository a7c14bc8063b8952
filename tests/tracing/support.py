"""What the tracing tests share: an app whose spans land in memory, a real OTLP/HTTP
receiver, and themis-lite on a real socket recording the headers it receives."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import themisgate_tracing
from tests.support.processes import free_port
from themisgate.testing import make_app
from themisgate.themis.embedded import EmbeddedBackend
from themisgate.themis.lite import create_lite_app
from themisgate.themis.settings import ThemisSettings

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
REMOTE_TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
REMOTE_SPAN_ID = 0xB7AD6B7169203331


def tracing_settings(**tracing: Any) -> dict[str, Any]:
    return {"plugins": {"tracing": {"exporter": "none", **tracing}}}


def traced_app(
    *plugins: object, settings: Mapping[str, Any] | None = None, **tracing: Any
) -> tuple[Litestar, InMemorySpanExporter]:
    """An app with the tracing plugin (exporting nowhere) whose spans also land in memory."""
    merged: dict[str, Any] = dict(settings or {})
    merged.update(tracing_settings(**tracing))
    app = make_app(themisgate_tracing, *plugins, settings=merged)
    spans = InMemorySpanExporter()
    themisgate_tracing.tracing_of(app).add_span_processor(SimpleSpanProcessor(spans))
    return app, spans


@contextlib.asynccontextmanager
async def traced_client(
    *plugins: object, settings: Mapping[str, Any] | None = None, **tracing: Any
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], InMemorySpanExporter]]:
    app, spans = traced_app(*plugins, settings=settings, **tracing)
    async with AsyncTestClient(app=app) as client:
        yield client, spans


def by_name(spans: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans.get_finished_spans()}


def hex_trace_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


# --- a real OTLP/HTTP receiver ---------------------------------------------------------------


class OtlpReceiver:
    """A collector's OTLP/HTTP traces endpoint on a loopback port: decodes every
    `ExportTraceServiceRequest` posted to /v1/traces and keeps it with its headers."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[ExportTraceServiceRequest, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.requests.append((request, {k.lower(): v for k, v in self.headers.items()}))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> dict[str, Any]:
        """Every span received, by name, with the resource it came with."""
        found = {}
        for request, _ in self.requests:
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        found[span.name] = (span, resource)
        return found

    def __enter__(self) -> OtlpReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def blackhole() -> Iterator[str]:
    """A collector address that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


# --- themis-lite on a real socket, recording headers --------------------------------------


@contextlib.contextmanager
def recording_themis_lite() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """themis-lite (in memory) behind uvicorn on a free port, in a thread of its own (the
    test client blocks the test's event loop while the app answers); yields its URL and
    the (path, headers) of every request it receives."""
    lite = create_lite_app(EmbeddedBackend(ThemisSettings(path=":memory:")), manage_backend=True)
    received: list[tuple[str, dict[str, str]]] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            received.append((scope["path"], headers))
        await lite(scope, receive, send)

    port = free_port()
    config = uvicorn.Config(
        recording, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="themis-lite", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("themis-lite did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}", received
    finally:
        server.should_exit = True
        thread.join(10)
