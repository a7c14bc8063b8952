"""ThemisDB spans: one per adapter operation, and one CLIENT span per HTTP request the
`http` backend sends, whose context goes to ThemisDB in `traceparent`.

`themis.<operation>` is the logical operation (a search may send several requests, a read
may be retried): kind CLIENT on the `http` backend, where ThemisDB is a remote database,
and INTERNAL on the embedded one, which runs in this process. Under it, each HTTP request
is its own CLIENT span (`GET /entities/{key}`), so a retry or a fan-out of reads shows as
what it is, and ThemisDB, if it traces, continues the trace from that request.

The HTTP span ends when the connection layer (httpcore) reports the response closed or
the request failed, through httpx's `trace` request extension; the backend's request
hook is the only way in, and it sees the request before it is sent. A request that never
reaches the connection layer (a pool timeout) is ended by its operation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from opentelemetry import context as context_api
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context

from .runtime import ACTIVE, Tracing, tracing_for_child
from .spans import ERROR_TYPE, attribute_value, bind_ids, record_error, unbind

if TYPE_CHECKING:
    import httpx

DB_SYSTEM = "db.system"
DB_OPERATION = "db.operation"
RESULTS_COUNT = "results.count"
# adapter attributes whose names are not namespaced get one
_RENAMED = {"adapter": "themis.backend", "embedder": "themis.embedder"}

# the HTTP requests of the operation in progress, for ending those httpcore never saw
_EXCHANGES: ContextVar[list[_Exchange] | None] = ContextVar("themis_exchanges", default=None)


class ThemisCall:
    """The context manager around one adapter operation."""

    __slots__ = (
        "_attached",
        "_exchanges",
        "_log_ids",
        "attributes",
        "operation",
        "span",
        "tracing",
    )

    def __init__(self, tracing: Tracing, operation: str, attributes: dict[str, Any]) -> None:
        self.tracing = tracing
        self.operation = operation
        self.attributes = attributes

    def __enter__(self) -> Span:
        tracer = self.tracing.tracer
        assert tracer is not None  # checked by the hook
        given = self.attributes
        remote = given.get("adapter") == "http"
        attributes: dict[str, Any] = {DB_SYSTEM: "themisdb", DB_OPERATION: self.operation}
        for key, value in given.items():
            value = attribute_value(value)
            if value is not None:
                attributes[_RENAMED.get(key, key)] = value
        kind = SpanKind.CLIENT if remote else SpanKind.INTERNAL
        span = tracer.start_span(f"themis.{self.operation}", None, kind, attributes)
        self.span = span
        self._attached = context_api.attach(set_span_in_context(span))
        self._log_ids = bind_ids(span.get_span_context())
        self._exchanges: Token[list[_Exchange] | None] | None = (
            _EXCHANGES.set([]) if remote else None
        )
        return span

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        span = self.span
        try:
            if self._exchanges is not None:
                for exchange in _EXCHANGES.get() or ():
                    exchange.abandon(error)
                _EXCHANGES.reset(self._exchanges)
            if span.is_recording():
                count = self.attributes.get(RESULTS_COUNT)
                if count is not None:
                    span.set_attribute(RESULTS_COUNT, count)
                if error is not None:
                    record_error(span, error)
            span.end()
        finally:
            unbind(self._log_ids)
            context_api.detach(self._attached)


# --- the HTTP requests the `http` backend sends -------------------------------------------

URL_FULL = "url.full"
URL_TEMPLATE = "url.template"
# the wire API's routes (see the backend): those with an identifier in the path get a
# template, so a span name never carries a key; anything else is named by its method
_STATIC_ROUTES = frozenset(
    {
        "/health",
        "/stats",
        "/api/capabilities",
        "/vector/batch_insert",
        "/vector/by-filter",
        "/vector/search",
        "/vector/index/stats",
        "/graph/edge",
        "/graph/traverse",
        "/content/import",
        "/query/aql",
    }
)
_ROUTE_PREFIXES = (("/entities/", "/entities/{key}"), ("/graph/edge/", "/graph/edge/{id}"))

TraceCallback = Callable[[str, dict[str, Any]], Awaitable[None]]


def wire_template(path: str) -> str | None:
    if path in _STATIC_ROUTES:
        return path
    for prefix, template in _ROUTE_PREFIXES:
        if path.startswith(prefix):
            return template
    return None


class WireRequestSpans:
    """The backend's request hook: a CLIENT span per request, its context injected."""

    def __init__(self, tracing: Tracing) -> None:
        self.tracing = tracing
        self._origins: dict[bytes, str] = {}  # netloc -> "scheme://host:port"

    def __call__(self, request: httpx.Request) -> None:
        tracing = self.tracing
        if ACTIVE.get() is not tracing:
            return  # not running, or in an excluded request
        if tracing_for_child() is None:  # in a trace that is not kept: propagate only
            tracing.propagator.inject(request.headers)
            return
        tracer = tracing.tracer
        assert tracer is not None  # tracing_for_child() checked
        url = request.url
        method = request.method
        path = url.raw_path.split(b"?", 1)[0].decode("ascii")  # never the query
        origin = self._origins.get(url.netloc)
        if origin is None:  # the netloc leaves out user and password
            origin = self._origins[url.netloc] = f"{url.scheme}://{url.netloc.decode('ascii')}"
        template = wire_template(path)
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "server.address": url.host,
            URL_FULL: origin + path,
        }
        if url.port is not None:
            attributes["server.port"] = url.port
        if template is not None:
            attributes[URL_TEMPLATE] = template
        name = f"{method} {template}" if template else method
        span = tracer.start_span(name, None, SpanKind.CLIENT, attributes)
        tracing.propagator.inject(request.headers, set_span_in_context(span))
        exchange = _Exchange(span, request.extensions.get("trace"))
        request.extensions["trace"] = exchange
        pending = _EXCHANGES.get()
        if pending is not None:
            pending.append(exchange)


class _Exchange:
    """httpcore's trace callback for one request: ends its span when the response is
    closed or the request failed. Chains a trace callback that was already there."""

    __slots__ = ("chained", "ended", "span")

    def __init__(self, span: Span, chained: TraceCallback | None) -> None:
        self.span = span
        self.chained = chained
        self.ended = False

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if self.chained is not None:
            await self.chained(event, info)
        if self.ended:
            return
        if event.endswith(".failed"):
            error = info.get("exception")
            if isinstance(error, BaseException) and self.span.is_recording():
                record_error(self.span, error)
            self._end()
        elif event.endswith("receive_response_headers.complete"):
            self._status(event, info.get("return_value"))
        elif event.endswith("response_closed.complete"):
            self._end()

    def _status(self, event: str, answer: Any) -> None:
        # http11 answers (version, status, reason, headers, ...); http2 (status, headers)
        index = 1 if event.startswith("http11.") else 0
        if not isinstance(answer, tuple) or len(answer) <= index:
            return
        status = answer[index]
        if isinstance(status, int) and self.span.is_recording():
            self.span.set_attribute("http.response.status_code", status)
            if status >= 400:
                self.span.set_attribute(ERROR_TYPE, str(status))
                self.span.set_status(Status(StatusCode.ERROR))

    def _end(self) -> None:
        self.ended = True
        self.span.end()

    def abandon(self, error: BaseException | None) -> None:
        """End the span if the connection layer never did (the request never got there)."""
        if self.ended:
            return
        if error is not None and self.span.is_recording():
            record_error(self.span, error)
        self._end()
