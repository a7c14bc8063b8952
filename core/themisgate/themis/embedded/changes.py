"""How every process's in-memory indexes follow writes made by any process.

`themisgate serve --workers N` runs N processes on one SQLite file, and `themisgate load`
may write to it while they serve. Documents are read from SQLite, so they are always
current; but each process searches vectors and walks edges in memory (`vectors.py`,
`graph.py`), and those copies must learn of other processes' writes.

The design:
- **A change log in the database.** Every vector, edge and dimension write appends one row
  per key to `changes` (`seq`, `kind`, `collection`, `key`, `op`, `at`) in the *same*
  transaction as the write (`store.log_changes`, one `executemany`), so the log can never
  disagree with the tables: a write and its log rows commit or vanish together. `seq` is a
  plain `INTEGER PRIMARY KEY` (max + 1), not `AUTOINCREMENT`, and the table has no CHECK
  constraints: together those doubled the cost of logging (64 rows: ~220 µs against
  ~75 µs, measured), and no seq is reused anyway because pruning always keeps the newest
  row. Logging adds ~1.3 µs per vector written (a 64-vector upsert: ~300 -> ~390 µs).
- **Each process remembers the last seq its indexes reflect** (`Mirror.applied`). Its own
  writes are applied to memory straight after their commit, as before, and advance
  `applied` when nothing foreign lies in between; otherwise their seq range is kept as
  "own" so a later catch-up skips it without skipping the foreign seqs before it.
- **A staleness check before every search, traversal and index report:**
  `SELECT max(seq) FROM changes` on the caller's read connection (a reused cursor) — a
  seek to the end of the rowid tree, 3.5-4 µs a call with Python's overhead, measured. No
  lock is taken. `PRAGMA data_version` was measured too: it costs the same, and it changes
  on *every* commit by another connection, including this process's own writer thread and
  document writes, so it would trigger needless work that `max(seq)` does not. Only when
  the newest seq differs from `applied` does a process take the lock and catch up (about
  50 µs for one foreign vector write). A newest seq *below* `applied` can only mean the log
  was emptied by hand: that makes it rebuild everything (but do not touch the log).
- **Catching up reads state, not operations.** One statement, inside a read transaction,
  returns the change rows after `applied` joined with the vector or edge as it is stored
  *now* (`store.changes_since`). A stored row means "upsert this", a missing one means
  "remove": applying is idempotent, duplicates collapse, and the result is exactly the
  table at that snapshot, whatever order the writes had. The `op` column is kept for people
  reading the log. Small catch-ups run inline; large ones and full reloads on the reader
  pool, so a big `themisgate load` elsewhere never stalls an event loop. Edges have an
  order (BFS visits neighbours in insertion order): once a catch-up meets a foreign edge
  change, it re-adds this process's own later edge changes too, so adjacency ends up in the
  table's order, as after a restart.
- **Pruning.** The writer thread deletes rows older than a retention window (10 minutes),
  at most once a minute, always keeping the newest row, and records the highest pruned
  seq in `meta`. A process whose `applied` is below that mark has missed changes it can
  no longer read, so it rebuilds its indexes from the tables (the same code as start-up).
- **The vector dimension** is fixed by the first insert (or the settings) in `meta`; that
  write is logged as a `dimension` change, a catch-up reads it when the index has none,
  and every vector write re-reads it inside its transaction, so two processes can never
  fix different dimensions.

Races between a process's own writer and its catch-ups are closed by one lock
(`Mirror._lock`): a catch-up takes its snapshot *and* applies it while holding the lock,
and the writer applies its own committed write under the same lock, skipping it when a
catch-up already loaded it from the table. So memory only ever moves forward.

A `:memory:` database cannot be shared between processes: nothing is logged or checked
there.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable

import numpy as np

from ..errors import ThemisError
from . import store
from ._records import edge_from_row
from .graph import Graph
from .vectors import VectorIndex

CHANGE_RETENTION_SECONDS = 600.0
PRUNE_EVERY_SECONDS = 60.0
# a catch-up applies at most this many vectors per index update, bounding its memory
_APPLY_BATCH = 8192

OwnWrite = Callable[[VectorIndex, Graph], object]


class Mirror:
    """One process's in-memory indexes and the last change they reflect."""

    def __init__(self, dimension: int | None, path: str) -> None:
        self.index = VectorIndex(dimension)
        self.graph = Graph()
        self.applied = 0
        self._path = path
        self._own: list[tuple[int, int]] = []  # seq ranges applied ahead of `applied`
        self._lock = threading.Lock()

    # --- this process's writes ----------------------------------------------------------

    def own_write(self, seqs: tuple[int, int] | None, apply: OwnWrite) -> None:
        """Apply a committed write of this process (which got `seqs`) to memory."""
        with self._lock:
            if seqs is None:  # nothing logged (a no-op delete, or `:memory:`)
                apply(self.index, self.graph)
                return
            if seqs[1] <= self.applied:
                return  # a catch-up already loaded it, or something newer, from the table
            apply(self.index, self.graph)
            self._own.append(seqs)
            self._absorb_own()

    def _absorb_own(self) -> None:
        """Advance `applied` over own ranges that directly follow it."""
        own = self._own
        while own and own[0][0] <= self.applied + 1:
            self.applied = max(self.applied, own.pop(0)[1])

    # --- everyone's writes --------------------------------------------------------------

    def follow(
        self, connection: sqlite3.Connection, latest: int | None, *, wait: bool, reload: bool
    ) -> bool:
        """Apply the changes this process has not applied yet; `latest` is the newest seq
        the caller saw, if it looked.

        Returns False, having changed nothing, when the lock is taken and `wait` is false,
        or when a full reload is needed and `reload` is false: the caller then retries
        where blocking is fine.
        """
        if not self._lock.acquire(blocking=wait):
            return False
        try:
            self._absorb_own()
            if latest == self.applied:  # own writes explain what the caller saw
                return True
            with store.snapshot(connection):
                current = store.latest_change(connection)
                if current == self.applied:
                    return True
                # a log behind this process was emptied or replaced (say, by hand): start over
                reset = current < self.applied
                if reset or store.pruned_through(connection) > self.applied:
                    if not reload:
                        return False
                    self._rebuild(connection)
                else:
                    self._apply(connection)
            return True
        finally:
            self._lock.release()

    def rebuild(self, connection: sqlite3.Connection) -> None:
        """Load the indexes from the tables (at start-up, or after missing pruned changes)."""
        with self._lock, store.snapshot(connection):
            self._rebuild(connection)

    def _rebuild(self, connection: sqlite3.Connection) -> None:
        """Build fresh indexes from one snapshot and swap them in; searches already running
        finish on the old ones."""
        applied = store.latest_change(connection)
        index = VectorIndex(_stored_dimension(connection))
        graph = Graph()
        self._load_vectors(index, store.iter_vectors(connection))
        graph.add(edge_from_row(row) for row in store.iter_edges(connection))
        self.index, self.graph, self.applied, self._own = index, graph, applied, []

    def _load_vectors(self, index: VectorIndex, rows: Iterable[tuple[str, str, bytes]]) -> None:
        collection: str | None = None
        keys: list[str] = []
        blobs: list[bytes] = []
        for name, key, blob in rows:
            if name != collection or len(keys) >= _APPLY_BATCH:
                self._upsert(index, collection, keys, blobs)
                collection, keys, blobs = name, [], []
            keys.append(key)
            blobs.append(blob)
        self._upsert(index, collection, keys, blobs)

    def _upsert(
        self, index: VectorIndex, collection: str | None, keys: list[str], blobs: list[bytes]
    ) -> None:
        if collection is None or not keys:
            return
        dimension = index.dimension
        for key, blob in zip(keys, blobs, strict=True):
            if dimension is None or len(blob) != 4 * dimension:
                raise ThemisError(f"vector {collection}:{key} in {self._path} has the wrong size")
        assert dimension is not None
        rows = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(keys), dimension)
        index.upsert(collection, keys, rows.astype(np.float32))

    def _apply(self, connection: sqlite3.Connection) -> None:
        """Apply the change rows after `applied` from the current snapshot, skipping this
        process's own writes (already in memory) — except edges after the first foreign
        edge change, which are re-added so adjacency keeps the table's insertion order."""
        index, graph = self.index, self.graph
        if index.dimension is None:  # `dimension` rows need nothing more: meta has it
            index.dimension = _stored_dimension(connection)
        own = iter(self._own)
        mine = next(own, None)
        foreign_edges = False
        vectors: dict[tuple[str, str], bytes | None] = {}
        last = self.applied
        for seq, kind, collection, key, blob, edge in store.changes_since(connection, last):
            last = seq
            while mine is not None and mine[1] < seq:
                mine = next(own, None)
            is_own = mine is not None and mine[0] <= seq
            if kind == "vector" and not is_own:
                vectors[collection, key] = blob
                if len(vectors) >= _APPLY_BATCH:
                    self._apply_vectors(index, vectors)
                    vectors = {}
            elif kind == "edge" and (not is_own or foreign_edges):
                foreign_edges = True
                if edge is None:
                    graph.remove(key)
                else:
                    graph.add([edge_from_row(edge)])
        self._apply_vectors(index, vectors)
        self.applied = last
        self._own = [seqs for seqs in self._own if seqs[1] > last]

    def _apply_vectors(
        self, index: VectorIndex, vectors: dict[tuple[str, str], bytes | None]
    ) -> None:
        upserts: dict[str, tuple[list[str], list[bytes]]] = {}
        removals: dict[str, list[str]] = {}
        for (collection, key), blob in vectors.items():
            if blob is None:
                removals.setdefault(collection, []).append(key)
            else:
                keys, blobs = upserts.setdefault(collection, ([], []))
                keys.append(key)
                blobs.append(blob)
        for collection, keys in removals.items():
            index.remove(collection, keys)
        for collection, (keys, blobs) in upserts.items():
            self._upsert(index, collection, keys, blobs)


def _stored_dimension(connection: sqlite3.Connection) -> int | None:
    stored = store.read_meta(connection, "dimension")
    return None if stored is None else int(stored)
