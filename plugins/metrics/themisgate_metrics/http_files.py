"""Several workers: the HTTP recorder's counters, copied into prometheus-client's
multiprocess files, where a scrape of any worker finds them.

A copy adds what was recorded since the last one: once a second, before each scrape this
worker answers, and at shutdown. Another worker's scrape therefore sees this worker's
requests at most a second late, and a worker killed outright loses at most its last
second — the price of recording a request in microseconds rather than writing every value
to the memory-mapped file as it happens.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import Histogram

from .families import HttpFamilies
from .http_recorder import (
    DURATION_BUCKETS,
    DURATION_SUM,
    METHODS,
    REQUEST_AT,
    REQUEST_SUM,
    RESPONSE_AT,
    RESPONSE_SUM,
    ROW,
    SIZE_BUCKET_COUNT,
    HttpRecorder,
    Key,
)

COPY_EVERY_SECONDS = 1.0
_NOTHING: list[float] = [0] * ROW
# where each histogram sits in a row: first bucket, number of buckets, sum
Part = tuple[int, int, int]
_DURATION: Part = (0, DURATION_BUCKETS, DURATION_SUM)
_REQUEST: Part = (REQUEST_AT, SIZE_BUCKET_COUNT, REQUEST_SUM)
_RESPONSE: Part = (RESPONSE_AT, SIZE_BUCKET_COUNT, RESPONSE_SUM)


class HttpFileWriter:
    def __init__(self, recorder: HttpRecorder, families: HttpFamilies) -> None:
        self.recorder = recorder
        self.families = families
        self.active = {method: families.active.labels(method) for method in METHODS}
        self.copied: dict[Key, list[float]] = {}
        self.lock = threading.Lock()  # the loop's timer and a scrape's thread both copy

    def copy(self) -> None:
        """Add to the files what was recorded since the last copy."""
        f = self.families
        with self.lock:
            for key, shared in self.recorder.rows.copy().items():
                row = shared[:]
                before = self.copied.get(key, _NOTHING)
                if row == before:
                    continue
                labels = (key[0], key[1], str(key[2]))
                _add(f.duration, labels, row, before, _DURATION)
                _add(f.request_size, labels, row, before, _REQUEST)
                _add(f.response_size, labels, row, before, _RESPONSE)
                self.copied[key] = row
            for method, count in self.recorder.active.copy().items():
                self.active[method].set(count)


def _add(
    family: Histogram,
    labels: tuple[str, str, str],
    row: list[float],
    before: list[float],
    part: Part,
) -> None:
    """Add the growth of one histogram's buckets and sum to its child.

    prometheus-client's `Histogram` offers only `observe()`, one value at a time, so the
    counts go straight to the child's bucket and sum values (`_buckets`, `_sum`, the
    multiprocess values prometheus-client itself increments); tests/metrics/test_workers.py
    fails if they ever move."""
    start, count, sum_at = part
    grown = [row[start + i] - before[start + i] for i in range(count)]
    if not any(grown):
        return  # e.g. GETs: no request body, so no request-size series at all
    child: Any = family.labels(*labels)
    for bucket, more in zip(child._buckets, grown, strict=True):
        if more:
            bucket.inc(more)
    child._sum.inc(row[sum_at] - before[sum_at])
