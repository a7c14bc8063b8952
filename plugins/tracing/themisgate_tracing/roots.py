"""Root spans the sampler will drop, decided before the SDK is asked.

Under `traceidratio` (alone or parent-based) the decision for a request that arrives
without a trace context depends on nothing but its trace id: it is kept when the low 64
bits of the id fall below `ratio * 2**64`. The server middleware draws that id itself; when
the sampler would drop it, the request gets a non-recording span holding the id — as the
SDK would have made — without the SDK's sampler, attribute collection and span creation,
which were most of what tracing cost a request at 10 % sampling. When the id would be
kept, the SDK is asked as usual and `PrimedIds` hands it the same id, so the sampler sees
what was decided here and the sampling rate stays exactly the configured ratio.

`always_on` has no such shortcut (every span is kept); `always_off` drops every root.
"""

from __future__ import annotations

import random
import threading

from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import (
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
)

_LOW_64_BITS = TraceIdRatioBased.TRACE_ID_LIMIT
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)


def root_bound(sampler: str, ratio: float) -> int | None:
    """Roots whose trace id's low 64 bits are below this are kept; None when the sampler
    keeps every root (so nothing can be decided early)."""
    if sampler.endswith("always_off"):
        return 0
    if sampler.endswith("traceidratio"):
        return TraceIdRatioBased.get_bound_for_rate(ratio)
    return None


class PrimedIds(RandomIdGenerator):
    """Random ids, except that the next trace id made on this thread may be set first."""

    def __init__(self) -> None:
        self._next = threading.local()

    def prime(self, trace_id: int) -> None:
        self._next.trace_id = trace_id

    def generate_trace_id(self) -> int:
        primed: int | None = getattr(self._next, "trace_id", None)
        if primed is not None:
            self._next.trace_id = None
            return primed
        return super().generate_trace_id()


def new_trace_id() -> int:
    trace_id = random.getrandbits(128)
    while trace_id == INVALID_TRACE_ID:
        trace_id = random.getrandbits(128)
    return trace_id


def dropped_root(trace_id: int) -> NonRecordingSpan:
    """The span the SDK makes for a root its sampler drops."""
    span_id = random.getrandbits(64)
    while span_id == INVALID_SPAN_ID:
        span_id = random.getrandbits(64)
    return NonRecordingSpan(SpanContext(trace_id, span_id, False, _NOT_SAMPLED))


def kept(trace_id: int, bound: int) -> bool:
    return trace_id & _LOW_64_BITS < bound
