"""What every span this plugin makes shares: log correlation and error recording.

Correlation uses structlog's context-local context, which the core's log set-up already
merges into every record (structlog's and the standard library's alike): `trace_id` and
`span_id` are bound while a span is current and the previous values come back when it
ends, through `themisgate.log_field` (set directly, without structlog's lookup by name
on every call, which was a third of what the plugin itself spent per request).
"""

from __future__ import annotations

import contextvars
from typing import Any

from opentelemetry.trace import Span, SpanContext, Status, StatusCode

from themisgate import log_field

ERROR_TYPE = "error.type"
_VALUE_TYPES = (str, bool, int, float)

LogIds = tuple[contextvars.Token[Any], contextvars.Token[Any]]


_TRACE_ID, _SPAN_ID = log_field("trace_id"), log_field("span_id")


def trace_id_hex(context: SpanContext) -> str:
    return format(context.trace_id, "032x")


def bind_ids(context: SpanContext, trace_id: str | None = None) -> LogIds:
    """Put the span's ids into every log record until `unbind` (`trace_id` when the
    caller has formatted it already)."""
    return (
        _TRACE_ID.set(trace_id or trace_id_hex(context)),
        _SPAN_ID.set(format(context.span_id, "016x")),
    )


def unbind(tokens: LogIds) -> None:
    trace, span = tokens
    _SPAN_ID.reset(span)
    _TRACE_ID.reset(trace)


def record_error(span: Span, error: BaseException) -> None:
    """The exception as a span event, `error.type`, and an error status."""
    span.record_exception(error)
    span.set_attribute(ERROR_TYPE, type(error).__qualname__)
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))


def attribute_value(value: Any) -> Any:
    """`value` if a span can hold it (str, bool, int, float or a list of one of them),
    else its string form; None for None."""
    if value is None or isinstance(value, _VALUE_TYPES):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, _VALUE_TYPES) for v in value):
        return list(value)
    return str(value)
