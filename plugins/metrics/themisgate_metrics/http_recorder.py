"""Where the HTTP middleware's numbers go: plain counters per (method, route, status).

Recording a request is a few list increments (0.3 µs). prometheus-client's own
`Histogram.observe()` takes a lock per value and walks the buckets, and in multiprocess
mode also writes each value to a memory-mapped file: about 2 µs a request in one process,
5 µs in several (bench/metrics_overhead.py, docs/metrics.md). So the counters
stay here, and prometheus-client gets them when it needs them: as a custom collector at
scrape time (one process), or copied into the worker's files once a second and before each
of its scrapes (several workers, http_files.py).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

import structlog
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

from .exemplars import ExemplarSource
from .families import (
    ACTIVE,
    DURATION,
    HTTP_DURATION_BUCKETS,
    HTTP_LABELS,
    REQUEST_SIZE,
    RESPONSE_SIZE,
    SIZE_BUCKETS,
)
from .series import OTHER

log = structlog.get_logger("themisgate.metrics")

KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
METHODS = (*KNOWN_METHODS, OTHER)

# A row holds the buckets of the three histograms side by side, then their sums.
DURATION_BUCKETS = len(HTTP_DURATION_BUCKETS) + 1  # with +Inf
SIZE_BUCKET_COUNT = len(SIZE_BUCKETS) + 1
REQUEST_AT = DURATION_BUCKETS
RESPONSE_AT = REQUEST_AT + SIZE_BUCKET_COUNT
DURATION_SUM = RESPONSE_AT + SIZE_BUCKET_COUNT
REQUEST_SUM = DURATION_SUM + 1
RESPONSE_SUM = DURATION_SUM + 2
ROW = DURATION_SUM + 3

Key = tuple[str, str, int | str]
OVERFLOW: Key = (OTHER, OTHER, OTHER)


class HttpRecorder:
    """Counters written by the event loop's thread only. Readers (a scrape runs in a worker
    thread) copy the dict and then each row in one step each, which the GIL makes atomic,
    so a histogram's count and buckets always agree."""

    def __init__(self, series_limit: int, exemplar: ExemplarSource | None) -> None:
        self.active = dict.fromkeys(METHODS, 0)
        self.rows: dict[Key, list[float]] = {}
        self.exemplars: dict[Key, list[Exemplar | None]] = {}
        self.limit = series_limit
        self.exemplar = exemplar

    def end(
        self, method: str, route: str, status: int, elapsed: float, received: int, sent: int
    ) -> None:
        """One finished request (the middleware counted it into `active` as it began);
        `received` is -1 for a request without a body."""
        self.active[method] -= 1
        key: Key = (method, route, status)
        row = self.rows.get(key)
        if row is None:
            key, row = self._new_row(key)
        bucket = bisect_left(HTTP_DURATION_BUCKETS, elapsed)
        row[bucket] += 1
        row[DURATION_SUM] += elapsed
        if received >= 0:
            row[REQUEST_AT + bisect_left(SIZE_BUCKETS, received)] += 1
            row[REQUEST_SUM] += received
        row[RESPONSE_AT + bisect_left(SIZE_BUCKETS, sent)] += 1
        row[RESPONSE_SUM] += sent
        if self.exemplar is not None:
            self._keep_exemplar(key, bucket, elapsed)

    def _new_row(self, key: Key) -> tuple[Key, list[float]]:
        if len(self.rows) < self.limit:
            row: list[float] = [0] * ROW
            self.rows[key] = row
            return key, row
        if OVERFLOW not in self.rows:
            log.warning(
                "metric has too many label combinations; further ones are counted as _OTHER",
                metric=DURATION[0],
                limit=self.limit,
            )
        return OVERFLOW, self.rows.setdefault(OVERFLOW, [0] * ROW)

    def _keep_exemplar(self, key: Key, bucket: int, elapsed: float) -> None:
        labels = self.exemplar() if self.exemplar is not None else None
        if labels is None:
            return
        kept = self.exemplars.get(key)
        if kept is None:
            kept = self.exemplars[key] = [None] * DURATION_BUCKETS
        kept[bucket] = Exemplar(labels, elapsed, time.time())

    # --- prometheus-client's collector interface (one process) ---------------------------

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(*DURATION, labels=HTTP_LABELS)
        yield GaugeMetricFamily(*ACTIVE, labels=("http_request_method",))
        yield HistogramMetricFamily(*REQUEST_SIZE, labels=HTTP_LABELS)
        yield HistogramMetricFamily(*RESPONSE_SIZE, labels=HTTP_LABELS)

    def collect(self) -> Iterator[Metric]:
        rows, exemplars = self.rows.copy(), self.exemplars.copy()
        duration = HistogramMetricFamily(*DURATION, labels=HTTP_LABELS)
        request = HistogramMetricFamily(*REQUEST_SIZE, labels=HTTP_LABELS)
        response = HistogramMetricFamily(*RESPONSE_SIZE, labels=HTTP_LABELS)
        for key, shared in rows.items():
            row = shared[:]
            labels = [key[0], key[1], str(key[2])]
            duration.add_metric(
                labels,
                _cumulative(row, 0, DURATION_LE, exemplars.get(key)),
                row[DURATION_SUM],
            )
            if any(row[REQUEST_AT:RESPONSE_AT]):  # GETs have no body to measure
                request.add_metric(labels, _cumulative(row, REQUEST_AT, SIZE_LE), row[REQUEST_SUM])
            response.add_metric(labels, _cumulative(row, RESPONSE_AT, SIZE_LE), row[RESPONSE_SUM])
        active = GaugeMetricFamily(*ACTIVE, labels=("http_request_method",))
        for method, count in self.active.copy().items():
            active.add_metric([method], count)
        yield duration
        yield active
        yield request
        yield response


# `le` labels written exactly as prometheus-client writes its own
DURATION_LE: list[str] = [floatToGoString(b) for b in HTTP_DURATION_BUCKETS] + ["+Inf"]  # type: ignore[no-untyped-call]
SIZE_LE: list[str] = [floatToGoString(b) for b in SIZE_BUCKETS] + ["+Inf"]  # type: ignore[no-untyped-call]


def _cumulative(
    row: list[float], start: int, bounds: list[str], exemplars: list[Any] | None = None
) -> list[Any]:
    """Cumulative `(le, count[, exemplar])` buckets, as prometheus-client takes them."""
    buckets: list[Any] = []
    total = 0.0
    for i, le in enumerate(bounds):
        total += row[start + i]
        exemplar = exemplars[i] if exemplars is not None else None
        buckets.append((le, total) if exemplar is None else (le, total, exemplar))
    return buckets
