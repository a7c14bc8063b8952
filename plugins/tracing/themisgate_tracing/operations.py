"""Spans for GraphQL operations and WebSocket messages (`themisgate_operation`).

A GraphQL operation is named as the GraphQL semantic conventions say,
`{graphql.operation.type} {graphql.operation.name}` ("query Search"); a WebSocket message
`websocket {action}`. Inside an HTTP request (GraphQL over POST) the span is INTERNAL,
a child of the request's span; with nothing around it (a message on an open WebSocket)
it is where the work enters the server, so it is a SERVER span of a trace of its own:
one trace per message, not one as long as the connection.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, set_span_in_context

from .runtime import Tracing
from .spans import attribute_value, bind_ids, record_error, unbind

# attributes the surfaces add before the operation ends (docs/events.md)
_RESULTS = ("graphql.errors", "results.count")


def span_name(surface: str, name: str, attributes: dict[str, Any]) -> str:
    if surface == "graphql":
        operation_type = attributes.get("graphql.operation.type")
        if isinstance(operation_type, str) and operation_type:
            return f"{operation_type} {name}"
    return f"{surface} {name}"


class Operation:
    """The context manager around one GraphQL operation or WebSocket message."""

    __slots__ = ("_attached", "_log_ids", "attributes", "name", "span", "surface", "tracing")

    def __init__(self, tracing: Tracing, surface: str, name: str, attributes: dict[str, Any]):
        self.tracing = tracing
        self.surface = surface
        self.name = name
        self.attributes = attributes

    def __enter__(self) -> Span:
        tracer = self.tracing.tracer
        assert tracer is not None  # checked by the hook
        inside_request = trace.get_current_span().get_span_context().is_valid
        kind = SpanKind.INTERNAL if inside_request else SpanKind.SERVER
        attributes: dict[str, Any] = {}
        for key, value in self.attributes.items():
            value = attribute_value(value)
            if value is not None:
                attributes[key] = value
        name = span_name(self.surface, self.name, self.attributes)
        span = tracer.start_span(name, None, kind, attributes)
        self.span = span
        self._attached = context_api.attach(set_span_in_context(span))
        self._log_ids = bind_ids(span.get_span_context())
        return span

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        span = self.span
        try:
            if span.is_recording():
                results = {k: self.attributes[k] for k in _RESULTS if k in self.attributes}
                if results:
                    span.set_attributes(results)
                if error is not None:
                    record_error(span, error)
            span.end()
        finally:
            unbind(self._log_ids)
            context_api.detach(self._attached)
