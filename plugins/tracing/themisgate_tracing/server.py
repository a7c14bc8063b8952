"""Server spans: one SERVER span per HTTP request, outermost of all middleware.

The span starts named after the method alone, since the route is not known until the
router has matched; when the request is done it is renamed `METHOD /route/{template}` from
`scope["path_template"]` (OpenTelemetry allows renaming; a request that matched no route
keeps the method alone, as the HTTP semantic conventions say, so a raw path never becomes
a span name). Attributes follow the stable HTTP semantic conventions. An incoming W3C
`traceparent`/`tracestate` (any field of the configured propagators) is continued; the
trace id goes back in a response header (through the core's `response_facts`, which also
gives the status), and into every log record of the request. A request without one that
the sampler will drop costs little: see roots.py.
"""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context

from themisgate import response_facts

from .roots import dropped_root, kept, new_trace_id
from .runtime import ACTIVE, Tracing
from .spans import ERROR_TYPE, bind_ids, record_error, trace_id_hex, unbind

# the stable HTTP semantic conventions
METHOD = "http.request.method"
METHOD_ORIGINAL = "http.request.method_original"
ROUTE = "http.route"
STATUS_CODE = "http.response.status_code"
URL_PATH = "url.path"
URL_SCHEME = "url.scheme"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
CLIENT_ADDRESS = "client.address"
USER_AGENT = "user_agent.original"
PROTOCOL_VERSION = "network.protocol.version"

KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ServerSpans:
    """The ASGI middleware; `tracing.tracer` is read per request, so it traces exactly
    while the app is running."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing
        settings = tracing.settings
        self.excluded = settings.exclude_paths
        name = settings.trace_id_header.lower()
        self.header = name.encode("latin-1") if name else b""
        self.fields = frozenset(f.lower().encode("latin-1") for f in tracing.propagator.fields)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = self.tracing.tracer
        if tracer is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] != ScopeType.HTTP or scope["path"] in self.excluded:
            # WebSocket messages are traced one by one (`themisgate_operation`), not as
            # one span as long as the connection; excluded paths are not traced at all
            websocket = scope["type"] == ScopeType.WEBSOCKET
            active = ACTIVE.set(self.tracing if websocket else None)
            try:
                await self.app(scope, receive, send)
            finally:
                ACTIVE.reset(active)
            return

        method: str = scope["method"]
        tracing = self.tracing
        parent = self._incoming_context(scope)
        span: Span
        bound = tracing.root_bound
        if parent is None and bound is not None:
            drawn = new_trace_id()
            if kept(drawn, bound):
                tracing.ids.prime(drawn)  # the SDK's sampler sees the same id
                span = self._start(tracer, scope, method, None)
            else:
                span = dropped_root(drawn)
        else:
            span = self._start(tracer, scope, method, parent)
        recording = span.is_recording()
        span_context = span.get_span_context()
        trace_id = trace_id_hex(span_context)
        attached = context_api.attach(set_span_in_context(span, parent))
        active = ACTIVE.set(tracing)
        log_ids = bind_ids(span_context, trace_id)
        response = response_facts(scope)  # type: ignore[arg-type]
        if self.header:
            response.headers.append((self.header, trace_id.encode()))
        try:
            await self.app(scope, receive, send)
        except Exception as error:
            if recording:
                record_error(span, error)
            raise
        finally:
            if recording:
                _finish(span, scope, method, response.status)
            span.end()
            unbind(log_ids)
            ACTIVE.reset(active)
            context_api.detach(attached)

    def _start(self, tracer: Tracer, scope: Scope, method: str, parent: Context | None) -> Span:
        # attributes known at the start go in at the start: samplers see them
        attributes = self._request_attributes(scope, method)
        return tracer.start_span(method, parent, SpanKind.SERVER, attributes)

    def _incoming_context(self, scope: Scope) -> Context | None:
        """The caller's trace context, when it sent one (`traceparent`, `tracestate`)."""
        fields = self.fields
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in fields
        }
        return self.tracing.propagator.extract(carrier) if carrier else None

    @staticmethod
    def _request_attributes(scope: Scope, method: str) -> dict[str, Any]:
        scheme = scope.get("scheme", "http")
        attributes: dict[str, Any] = {
            METHOD: method if method in KNOWN_METHODS else "_OTHER",
            URL_PATH: scope["path"],
            URL_SCHEME: scheme,
            PROTOCOL_VERSION: scope.get("http_version", "1.1"),
        }
        if method not in KNOWN_METHODS:
            attributes[METHOD_ORIGINAL] = method
        client = scope.get("client")
        if client:
            attributes[CLIENT_ADDRESS] = client[0]
        host = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"user-agent":
                attributes[USER_AGENT] = value.decode("latin-1")
        _server_address(attributes, host, scope.get("server"), scheme)
        return attributes


def _finish(span: Span, scope: Scope, method: str, status: int) -> None:
    """Name the span after its route, and add what the response told."""
    route = scope.get("path_template")
    attributes: dict[str, Any] = {}
    if route:
        attributes[ROUTE] = route
        span.update_name(f"{method} {route}")
    if status:
        attributes[STATUS_CODE] = status
        if status >= 500:
            attributes[ERROR_TYPE] = str(status)
            span.set_status(Status(StatusCode.ERROR))
    span.set_attributes(attributes)


def _server_address(attributes: dict[str, Any], host: str | None, server: Any, scheme: str) -> None:
    """`server.address`/`server.port` from the Host header, else the socket (semconv)."""
    if host:
        if host.startswith("["):  # an IPv6 literal, "[::1]:8000"
            name, _, rest = host[1:].partition("]")
            port = rest[1:]
        else:
            name, _, port = host.partition(":")
        attributes[SERVER_ADDRESS] = name
        attributes[SERVER_PORT] = int(port) if port.isdigit() else _DEFAULT_PORTS.get(scheme, 80)
    elif server:
        attributes[SERVER_ADDRESS] = server[0]
        if server[1] is not None:
            attributes[SERVER_PORT] = server[1]
