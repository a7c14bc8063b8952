"""ThemisDB metrics, observed through `themisgate_adapter_call` — never by touching the
adapter: every operation is counted by outcome, timed, sized and counted in flight.

`themis_query_size_bytes` is what the operation sends: the adapter's
`db.request.size_bytes` attribute when it gives one, otherwise the JSON size of the
attributes that describe the call (collection, top_k, traversal start and depth, …) — a
relative measure, documented as such in docs/metrics.md.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import msgspec

from .exemplars import ExemplarSource
from .families import AdapterFamilies
from .series import Series

REQUEST_SIZE_ATTRIBUTE = "db.request.size_bytes"
_encode = msgspec.json.encode


class _Bound:
    """The children of one (adapter, operation), bound once."""

    __slots__ = ("active", "error", "latency", "query_size", "success")

    def __init__(self, families: AdapterFamilies, adapter: str, operation: str) -> None:
        self.success = families.requests.labels(adapter, operation, "success")
        self.error = families.requests.labels(adapter, operation, "error")
        self.latency = families.latency.labels(adapter, operation)
        self.query_size = families.query_size.labels(adapter, operation)
        self.active = families.active.labels(adapter)


class _Family:
    def __init__(self, families: AdapterFamilies) -> None:
        self._families = families

    def labels(self, adapter: str, operation: str) -> _Bound:
        return _Bound(self._families, adapter, operation)


class AdapterObserver:
    def __init__(
        self, families: AdapterFamilies, *, series_limit: int, exemplar: ExemplarSource | None
    ) -> None:
        self.families = families
        self.exemplar = exemplar
        self.series: Series[_Bound] = Series(_Family(families), series_limit, name="adapter_*")

    def observe(self, operation: str, attributes: dict[str, Any]) -> AdapterCall:
        adapter = str(attributes.get("adapter", "unknown"))
        bound = self.series.get((adapter, operation), (adapter, operation))
        return AdapterCall(self, bound, attributes)

    def set_info(self, adapter: str, version: str) -> None:
        self.families.info.labels(adapter, version).set(1)


class AdapterCall:
    """One operation: a plain context manager, cheaper than a generator-based one."""

    __slots__ = ("_attributes", "_bound", "_observer", "_started")

    def __init__(
        self, observer: AdapterObserver, bound: _Bound, attributes: dict[str, Any]
    ) -> None:
        self._observer = observer
        self._bound = bound
        self._attributes = attributes
        self._started = 0.0

    def __enter__(self) -> None:
        bound = self._bound
        size = query_size(self._attributes)  # before the call: what is sent, not results
        if size is not None:
            bound.query_size.observe(size)
        bound.active.inc()
        self._started = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        bound = self._bound
        bound.active.dec()
        (bound.success if kind is None else bound.error).inc()
        exemplar = self._observer.exemplar
        if exemplar is not None:
            bound.latency.observe(elapsed, exemplar())
        else:
            bound.latency.observe(elapsed)


def query_size(attributes: dict[str, Any]) -> int | None:
    given = attributes.get(REQUEST_SIZE_ATTRIBUTE)
    if isinstance(given, int):
        return given
    try:
        return len(_encode(attributes))
    except (TypeError, msgspec.EncodeError):
        return None
