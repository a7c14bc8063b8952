"""Where finished spans go: OTLP over HTTP or gRPC, the console, or nowhere; and
`ReportingExporter`, which remembers how the last export went for the status check."""

from __future__ import annotations

import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter, SpanExportResult

if TYPE_CHECKING:
    from .resolve import TracingSettings

log = structlog.get_logger("themisgate.tracing")

GRPC_MODULE = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"
GRPC_HINT = (
    "protocol 'grpc' needs the gRPC exporter: pip install 'themisgate-tracing[grpc]' "
    '(or use protocol = "http/protobuf")'
)


def grpc_exporter_class() -> Any:
    """The gRPC span exporter class; ImportError when the optional extra is missing."""
    from importlib import import_module

    return import_module(GRPC_MODULE).OTLPSpanExporter


def build_exporter(settings: TracingSettings) -> SpanExporter | None:
    """The exporter `settings` ask for; None for `exporter = "none"`."""
    if settings.exporter == "none":
        return None
    if settings.exporter == "console":
        return ConsoleSpanExporter(out=sys.stdout)
    headers = {name: value.reveal() for name, value in settings.headers.items()}
    if settings.protocol == "grpc":
        exporter_class = grpc_exporter_class()
        return exporter_class(  # type: ignore[no-any-return]
            endpoint=settings.endpoint,
            insecure=settings.endpoint.startswith("http://"),
            headers=headers or None,
            timeout=settings.export_timeout,
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(
        endpoint=settings.endpoint, headers=headers, timeout=settings.export_timeout
    )


def safe_url(url: str) -> str:
    """`url` without user or password, fit for logs and listings."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class ReportingExporter(SpanExporter):
    """Passes batches to the real exporter (from the batch processor's thread) and keeps
    counts and the outcome of the last export; logs once when exports start failing and
    once when they recover, so a collector that is down does not flood the log."""

    def __init__(self, inner: SpanExporter, target: str) -> None:
        self.inner = inner
        self.target = target
        self.exported_spans = 0
        self.failed_spans = 0
        self.failed_exports = 0
        self.last_success: float | None = None
        self.last_failure: float | None = None
        self.last_error = ""
        self._shutdown = False
        self._lock = threading.Lock()

    @property
    def failing(self) -> bool:
        return self.last_failure is not None and (
            self.last_success is None or self.last_failure > self.last_success
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
            error = "" if result is SpanExportResult.SUCCESS else "the exporter reported failure"
        except Exception as exc:  # an exporter bug must not kill the processor's thread
            result, error = SpanExportResult.FAILURE, f"{type(exc).__name__}: {exc}"
        with self._lock:
            was_failing = self.failing
            if result is SpanExportResult.SUCCESS:
                self.exported_spans += len(spans)
                self.last_success = time.time()
            else:
                self.failed_spans += len(spans)
                self.failed_exports += 1
                self.last_failure = time.time()
                self.last_error = error
            now_failing = self.failing
        if now_failing and not was_failing:
            log.warning(
                "span export failing; spans are dropped until it recovers",
                target=self.target,
                error=error,
                dropped=len(spans),
            )
        elif was_failing and not now_failing:
            log.info("span export recovered", target=self.target)
        return result

    def shutdown(self) -> None:
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
