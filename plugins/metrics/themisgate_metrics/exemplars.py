"""Trace ids on histogram buckets, so a latency spike on a dashboard links to a trace.

The tracing plugin makes the server span current (OpenTelemetry context) before this
plugin's middleware runs; the id is read from the OpenTelemetry API, the one thing both
plugins share without importing each other. Exemplars exist only in the OpenMetrics
format and only in one-process mode (prometheus-client keeps none across workers).
"""

from __future__ import annotations

from collections.abc import Callable

Exemplar = dict[str, str]
ExemplarSource = Callable[[], Exemplar | None]


def trace_exemplars() -> ExemplarSource | None:
    """A function giving `{"trace_id": …}` for the current span when it is sampled
    (else None), or None if the OpenTelemetry API is not installed."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    current_span = trace.get_current_span

    def exemplar() -> Exemplar | None:
        # a trace the sampler dropped is never exported: an exemplar would link nowhere
        context = current_span().get_span_context()
        if not context.trace_flags.sampled or not context.is_valid:
            return None
        return {"trace_id": format(context.trace_id, "032x")}

    return exemplar
