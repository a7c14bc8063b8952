"""Label values → metric children, cached and bounded.

`family.labels(...)` validates and stringifies its arguments and takes a lock on every
call; the hot path instead looks the child up in a dict keyed by the raw values. The dict
is also where cardinality is bounded: past `limit` distinct combinations, new ones are
counted under `_OTHER`, so a misbehaving label source cannot grow a scrape without end.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Generic, TypeVar

import structlog

log = structlog.get_logger("themisgate.metrics")

OTHER = "_OTHER"
Child = TypeVar("Child")


class Series(Generic[Child]):
    """The children of one labelled family, at most `limit` of them plus `_OTHER`."""

    __slots__ = ("_children", "_family", "_limit", "_overflow", "name")

    def __init__(self, family: Any, limit: int, name: str | None = None) -> None:
        self._family = family  # anything with `labels(*values)`
        self._limit = limit
        self._children: dict[Hashable, Child] = {}
        self._overflow: Child | None = None
        self.name: str = name or family.describe()[0].name

    def get(self, key: Hashable, values: tuple[str, ...]) -> Child:
        """The child for `key` (any hashable standing for `values`), created on first use."""
        child = self._children.get(key)
        if child is None:
            child = self._add(key, values)
        return child

    def find(self, key: Hashable) -> Child | None:
        """The child already made for `key`, if any."""
        return self._children.get(key)

    def labels(self, *values: str) -> Child:
        return self.get(values, values)

    def _add(self, key: Hashable, values: tuple[str, ...]) -> Child:
        if len(self._children) < self._limit:
            child: Child = self._family.labels(*values)
            self._children[key] = child
            return child
        if self._overflow is None:
            log.warning(
                "metric has too many label combinations; further ones are counted as _OTHER",
                metric=self.name,
                limit=self._limit,
            )
            self._overflow = self._family.labels(*(OTHER for _ in values))
        return self._overflow  # not cached: the key space past the limit is unbounded


class TopValues:
    """The first `limit` distinct values of a client-chosen label keep their name; later
    ones read as `_OTHER` (e.g. GraphQL operation names)."""

    __slots__ = ("_limit", "_seen")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) < self._limit:
            self._seen.add(value)
            return value
        return OTHER
