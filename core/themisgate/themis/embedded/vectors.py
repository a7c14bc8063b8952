"""The in-memory vector index: exact cosine search over float32 matrices.

Each collection owns a segment: a row-major float32 matrix (grown by doubling), the key of
each row and a key -> row map. Rows are L2-normalised when inserted, so a search is one
matrix-vector product (`scores = rows @ query`, i.e. cosine similarity) and an
`argpartition` for the top k — no approximate index, so results are exact and match a bare
numpy baseline within a small constant. A search restricted to one collection scans only
that collection's rows. Deletes swap the last row into the hole (O(dimension), no
tombstones, no compaction pass).

The SQLite `vectors` table is the source of truth; the backend applies every committed
change here and rebuilds the index from the table at start-up. One lock guards the segments:
writers hold it for microseconds (copying rows), searches for one matrix product.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
Hit = tuple[str, str, float]  # collection, key, distance

_MIN_CAPACITY = 64


def normalise(rows: Matrix) -> Matrix:
    """Scale each row to unit length; all-zero rows stay zero (cosine 0 with everything)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    unit: Matrix = (rows / norms).astype(np.float32, copy=False)
    return unit


def distance(score: float) -> float:
    """`1 - cos`, clamped to [0, 2] so float rounding never yields -1e-7."""
    return min(2.0, max(0.0, 1.0 - score))


class _Segment:
    """One collection's rows."""

    __slots__ = ("keys", "matrix", "rows", "size")

    def __init__(self, dimension: int) -> None:
        self.matrix: Matrix = np.empty((0, dimension), dtype=np.float32)
        self.size = 0
        self.keys: list[str] = []
        self.rows: dict[str, int] = {}

    def _reserve(self, extra: int) -> None:
        needed = self.size + extra
        capacity = self.matrix.shape[0]
        if needed <= capacity:
            return
        rows = max(needed, 2 * capacity, _MIN_CAPACITY)
        grown = np.empty((rows, self.matrix.shape[1]), dtype=np.float32)
        grown[: self.size] = self.matrix[: self.size]
        self.matrix = grown

    def upsert(self, keys: Sequence[str], rows: Matrix) -> None:
        """Store normalised `rows` under `keys`; a key given twice keeps its last row."""
        last = {key: position for position, key in enumerate(keys)}
        self._reserve(len(last))
        targets = np.empty(len(last), dtype=np.intp)
        for slot, key in enumerate(last):
            row = self.rows.get(key)
            if row is None:
                row = self.size
                self.size += 1
                self.keys.append(key)
                self.rows[key] = row
            targets[slot] = row
        self.matrix[targets] = rows[np.fromiter(last.values(), dtype=np.intp, count=len(last))]

    def remove(self, keys: Sequence[str]) -> int:
        removed = 0
        for key in keys:
            row = self.rows.pop(key, None)
            if row is None:
                continue
            removed += 1
            last = self.size - 1
            if row != last:
                self.matrix[row] = self.matrix[last]
                moved = self.keys[last]
                self.keys[row] = moved
                self.rows[moved] = row
            self.keys.pop()
            self.size = last
        capacity = self.matrix.shape[0]
        if capacity > 4 * _MIN_CAPACITY and self.size < capacity // 4:
            self.matrix = self.matrix[: max(2 * self.size, _MIN_CAPACITY)].copy()
        return removed

    def top(self, query: Matrix, k: int) -> tuple[list[float], list[int]]:
        """Scores and row numbers of the `k` best rows, best first, ties in row order."""
        scores: Matrix = self.matrix[: self.size] @ query
        if k < self.size:
            best = np.argpartition(scores, self.size - k)[self.size - k :]
            best.sort()
            order = best[np.argsort(-scores[best], kind="stable")]
        else:
            order = np.argsort(-scores, kind="stable")
        return scores[order].tolist(), order.tolist()


class VectorIndex:
    """All collections' segments, and the dimension every vector must have."""

    def __init__(self, dimension: int | None = None) -> None:
        self.dimension = dimension
        self._segments: dict[str, _Segment] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(segment.size for segment in self._segments.values())

    def rows_scanned(self, collection: str | None) -> int:
        """How many rows a search would read: lets the caller decide where to run it."""
        if collection is None:
            return len(self)
        segment = self._segments.get(collection)
        return 0 if segment is None else segment.size

    def upsert(self, collection: str, keys: Sequence[str], rows: Matrix) -> None:
        """Add or replace rows (raw vectors; normalised here, outside the lock)."""
        unit = normalise(rows)
        with self._lock:
            if self.dimension is None:
                self.dimension = int(rows.shape[1])
            segment = self._segments.get(collection)
            if segment is None:
                segment = self._segments[collection] = _Segment(self.dimension)
            segment.upsert(keys, unit)

    def remove(self, collection: str, keys: Sequence[str]) -> int:
        with self._lock:
            segment = self._segments.get(collection)
            if segment is None:
                return 0
            removed = segment.remove(keys)
            if segment.size == 0:
                del self._segments[collection]
            return removed

    def keys(self) -> list[tuple[str, str]]:
        """Every `(collection, key)`, for prefix deletes and listings."""
        with self._lock:
            return [(name, key) for name, seg in self._segments.items() for key in seg.keys]

    def search(self, query: Matrix, k: int, collection: str | None = None) -> list[Hit]:
        """The `k` nearest rows to `query` (any length; normalised here), nearest first."""
        norm = float(np.linalg.norm(query))
        unit = (query / norm).astype(np.float32) if norm > 0.0 else query.astype(np.float32)
        with self._lock:
            if collection is not None:
                segment = self._segments.get(collection)
                if segment is None or segment.size == 0:
                    return []
                scores, rows = segment.top(unit, k)
                keys = segment.keys
                return [
                    (collection, keys[row], distance(score))
                    for score, row in zip(scores, rows, strict=True)
                ]
            return self._search_all(unit, k)

    def _search_all(self, unit: Matrix, k: int) -> list[Hit]:
        """Top k of each segment, then the top k of those; called with the lock held."""
        candidates: list[Hit] = []
        for name, segment in self._segments.items():
            scores, rows = segment.top(unit, k)
            keys = segment.keys
            candidates.extend(
                (name, keys[row], distance(score)) for score, row in zip(scores, rows, strict=True)
            )
        if len(self._segments) > 1:
            candidates.sort(key=lambda hit: hit[2])  # stable: ties keep segment order
        return candidates[:k]
