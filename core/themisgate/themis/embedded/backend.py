"""`EmbeddedBackend`: ThemisDB's behaviour in process, persisted to one SQLite file.

Where the work runs, and why:
- Writes go to one dedicated thread that owns the write connection (`_worker.py`), so they
  are serialised without locks and never block the event loop. A write is acknowledged
  only after its commit (see `store.py` for why that survives kill -9).
- Reading one document is a primary-key lookup of a few microseconds — cheaper than a hop
  to another thread — so it runs inline on the caller's thread, on that thread's own
  read-only connection (WAL lets readers proceed while the writer commits). A `:memory:`
  database cannot be shared between connections, so there every read goes to the writer.
- Vector search and traversal run in memory (`vectors.py`, `graph.py`); small ones inline,
  big ones on a small reader pool so a 100k-row matrix product never stalls the loop.
- Several processes may share the file (`serve --workers N`, `themisgate load` beside a
  server). Each vector and edge write is logged in the `changes` table, and before every
  search, traversal or index report a process checks the newest seq (~4 µs) and applies
  the changes other processes made (`changes.py` explains the design).

The rules are the real server's where it is sensible and a clear `ThemisBadRequest` where
it is not: a fixed vector dimension (from settings or the first insert), `k >= 1`, finite
vectors, non-negative traversal depths, upsert replaces, deleting a missing thing is fine.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import metadata
from typing import Any, TypeVar

import numpy as np

from ..aql.cursor import cursor_key
from ..aql.engine import AqlEngine
from ..errors import (
    DimensionMismatch,
    ThemisBadRequest,
    ThemisError,
    ThemisServerError,
    ThemisUnavailable,
    ThemisUnsupported,
)
from ..models import (
    AqlResult,
    Document,
    Edge,
    Health,
    IndexInfo,
    Traversal,
    TraversalQuery,
    UpsertResult,
    VectorHit,
    VectorItem,
)
from ..settings import ThemisSettings
from . import indexes as aql_indexes
from . import store
from ._keys import check_collection, check_key, check_keys, check_vector_collection
from ._records import decode_document, edge_row, encode_document, encode_fields
from ._worker import SerialWorker
from .changes import CHANGE_RETENTION_SECONDS, PRUNE_EVERY_SECONDS, Mirror
from .graph import check_query

T = TypeVar("T")

OBJECT_NAME = "documents"
# Searches scanning at most this many floats (~1 MB) run inline: cheaper than a thread hop.
_INLINE_SEARCH_FLOATS = 1 << 18
_INLINE_GRAPH_EDGES = 4096
_INLINE_MULTI_GET = 64
_READER_THREADS = 2
# a catch-up with at most this many change rows to read runs inline
_INLINE_CHANGES = 256


@cache
def _version() -> str:
    try:
        return metadata.version("themisgate")
    except metadata.PackageNotFoundError:
        return "embedded"


class EmbeddedBackend:
    """The `embedded` ThemisDB backend. Call `start()` before use and `close()` after."""

    name = "embedded"

    def __init__(self, settings: ThemisSettings) -> None:
        self._settings = settings
        self._path = settings.path
        self._in_memory = settings.path == store.MEMORY
        self._writer: SerialWorker | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._read_connections: list[sqlite3.Connection] = []
        self._read_lock = threading.Lock()
        self._mirror = Mirror(settings.dimension, self._path)
        # other processes can share a file, never a `:memory:` database: log only for files
        self._logging = not self._in_memory
        self._next_prune = 0.0
        self._started_at: float | None = None
        self._start_lock = asyncio.Lock()
        self._aql: AqlEngine | None = None

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        async with self._start_lock:
            if self._started_at is not None:
                return
            writer = SerialWorker("themis-sqlite")
            try:
                await writer.open(lambda: store.connect(self._path))
                await writer.run(self._load)
            except BaseException:
                await writer.close()
                raise
            self._writer = writer
            self._readers = ThreadPoolExecutor(_READER_THREADS, thread_name_prefix="themis-read")
            self._local = threading.local()
            self._started_at = time.monotonic()

    def _load(self, connection: sqlite3.Connection) -> None:
        """Create the schema, settle the dimension, and rebuild the in-memory indexes."""
        store.create_schema(connection)
        configured = self._settings.dimension
        with store.transaction(connection):
            stored = store.read_meta(connection, "dimension")
            if stored is not None and configured is not None and int(stored) != configured:
                raise ThemisError(
                    f"the database at {self._path} holds vectors of dimension {stored}, but "
                    f"dimension = {configured} is configured: change the setting or the path"
                )
            if stored is None and configured is not None:
                store.write_meta(connection, "dimension", str(configured))
                self._log(connection, [("dimension", "", "", "upsert")])
        mirror = Mirror(None, self._path)
        mirror.rebuild(connection)
        self._mirror = mirror
        self._maybe_prune(connection)

    async def close(self) -> None:
        async with self._start_lock:
            if self._started_at is None:
                return
            self._started_at = None
            writer, self._writer = self._writer, None
            readers, self._readers = self._readers, None
            if readers is not None:
                await asyncio.to_thread(readers.shutdown, True)
            with self._read_lock:
                connections, self._read_connections = self._read_connections, []
            for connection in connections:
                connection.close()
            if writer is not None:
                await writer.close()

    async def __aenter__(self) -> EmbeddedBackend:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- where work runs ----------------------------------------------------------------

    def _running_writer(self) -> SerialWorker:
        if self._writer is None:
            raise ThemisUnavailable("the embedded ThemisDB backend is not started")
        return self._writer

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self._running_writer().run(fn, *args)
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    async def _read(self, inline: bool, fn: Callable[..., T], *args: Any) -> T:
        """Run a read: inline on this thread's connection, on the reader pool, or — for
        `:memory:` — on the writer, which holds the only connection to that database."""
        writer = self._running_writer()
        try:
            if self._in_memory:
                return await writer.run(fn, *args)
            if inline:
                return fn(self._read_connection(), *args)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._readers, self._read_call, fn, args)
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    def _read_call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        return fn(self._read_connection(), *args)

    def _read_connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = store.connect(self._path, read_only=True)
            self._local.connection = connection
            # kept for the staleness check: reusing a cursor saves ~0.5 µs a call
            self._local.cursor = connection.cursor()
            with self._read_lock:
                self._read_connections.append(connection)
        return connection

    async def _in_memory_work(self, inline: bool, fn: Callable[..., T], *args: Any) -> T:
        """Work on the in-memory indexes: inline when small, else on the reader pool."""
        self._running_writer()
        if inline:
            return fn(*args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, fn, *args)

    # --- following other processes' writes (see changes.py) -----------------------------

    async def _follow(self) -> None:
        """Bring the in-memory indexes up to date with every process's committed writes."""
        self._running_writer()
        latest = self._changed()
        if latest is not None:
            await self._catch_up(latest)

    def _changed(self) -> int | None:
        """The hot path, before every search and traversal: the newest seq in the change log
        if it is not the one the indexes reflect, else None. One `max(seq)`: 3.5-4 µs."""
        if not self._logging:
            return None
        cursor: sqlite3.Cursor | None = getattr(self._local, "cursor", None)
        try:
            if cursor is None:
                self._read_connection()
                cursor = self._local.cursor
            latest = store.latest_change(cursor)
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc
        return None if latest == self._mirror.applied else latest

    async def _catch_up(self, latest: int) -> None:
        """Apply what other processes changed: inline when it is a few rows and the lock is
        free, else (and for a full reload, after missing pruned changes) on the reader pool."""
        mirror = self._mirror
        try:
            if abs(latest - mirror.applied) <= _INLINE_CHANGES and mirror.follow(
                self._read_connection(), latest, wait=False, reload=False
            ):
                return
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._readers, self._follow_blocking, latest)
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    def _follow_blocking(self, latest: int | None = None) -> None:
        self._mirror.follow(self._read_connection(), latest, wait=True, reload=True)

    def _log(
        self, connection: sqlite3.Connection, changes: Sequence[store.Change]
    ) -> tuple[int, int] | None:
        """Append `changes` to the change log inside the caller's write transaction."""
        if not self._logging:
            return None
        return store.log_changes(connection, changes, time.time())

    def _maybe_prune(self, connection: sqlite3.Connection) -> None:
        """On the writer thread, after a write: prune the change log at most once a minute.
        A failure (say, another process holding the write lock) just waits for next time."""
        if not self._logging or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        with contextlib.suppress(sqlite3.Error):
            store.prune_changes(connection, time.time() - CHANGE_RETENTION_SECONDS)

    async def prune_changes(self, older_than: float = CHANGE_RETENTION_SECONDS) -> int:
        """Delete change-log rows logged more than `older_than` seconds ago (the newest row
        always stays); returns how many went. The writer does this by itself once a minute
        with the 10-minute retention; this is for operators and tests (embedded only)."""
        self._running_writer()
        if not self._logging:
            return 0
        return await self._write(store.prune_changes, time.time() - older_than)

    # --- status -------------------------------------------------------------------------

    async def health(self) -> Health:
        self._running_writer()
        assert self._started_at is not None
        return Health(
            status="healthy",
            version=_version(),
            backend=self.name,
            uptime_seconds=round(time.monotonic() - self._started_at, 3),
        )

    async def stats(self) -> dict[str, Any]:
        counts = await self._read(False, store.counts)
        await self._follow()
        mirror = self._mirror
        assert self._started_at is not None
        return {
            "server": {
                "backend": self.name,
                "version": _version(),
                "uptime_seconds": round(time.monotonic() - self._started_at, 3),
                "sqlite_version": sqlite3.sqlite_version,
            },
            "storage": {
                **counts,
                "path": self._path,
                "dimension": mirror.index.dimension,
                "metric": "cosine",
                "indexed_vectors": len(mirror.index),
                "graph_edges": len(mirror.graph),
            },
        }

    async def capabilities(self) -> dict[str, Any]:
        if self._writer is not None:
            await self._follow()
        return {
            "backend": self.name,
            "version": _version(),
            "documents": {"batch_get": True, "json_text": True},
            "vector": {
                "metric": "cosine",
                "dimension": self._mirror.index.dimension,
                "index": "exact",
                "collection_filter": True,
                "object_name": OBJECT_NAME,
            },
            "graph": {
                "traverse": True,
                "directions": ["out", "in", "any"],
                "min_depth": True,
                "edge_type_filter": True,
                "edge_endpoint": True,
            },
            "aql": True,
            "transactions": False,
        }

    async def index_info(self) -> IndexInfo:
        await self._follow()
        index = self._mirror.index
        return IndexInfo(
            dimension=index.dimension,
            metric="cosine",
            vector_count=len(index),
            object_name=OBJECT_NAME,
        )

    # --- documents ----------------------------------------------------------------------

    async def put_document(self, collection: str, key: str, document: Document) -> None:
        check_collection(collection)
        check_key(key)
        await self._write(store.put_document, collection, key, encode_document(document))

    async def put_document_text(self, collection: str, key: str, text: str) -> None:
        """Store a document given as JSON text, keeping the text exactly (the wire API's
        `blob`); it must decode to a JSON object."""
        check_collection(collection)
        check_key(key)
        decode_document(text)
        await self._write(store.put_document, collection, key, text)

    async def get_document(self, collection: str, key: str) -> Document | None:
        text = await self.get_document_text(collection, key)
        return None if text is None else decode_document(text)

    async def get_document_text(self, collection: str, key: str) -> str | None:
        """The stored JSON text of a document, or None: the hot path, read inline."""
        check_collection(collection)
        check_key(key)
        return await self._read(True, store.get_document, collection, key)

    async def get_documents(self, collection: str, keys: Sequence[str]) -> Mapping[str, Document]:
        check_collection(collection)
        wanted = check_keys(keys)
        if not wanted:
            return {}
        inline = len(wanted) <= _INLINE_MULTI_GET
        texts = await self._read(inline, store.get_documents, collection, wanted)
        return {key: decode_document(texts[key]) for key in wanted if key in texts}

    async def delete_document(self, collection: str, key: str) -> None:
        check_collection(collection)
        check_key(key)
        await self._write(store.delete_document, collection, key)

    # --- vectors ------------------------------------------------------------------------

    async def upsert_vectors(self, collection: str, items: Sequence[VectorItem]) -> UpsertResult:
        """Store vectors (replacing same keys) all-or-nothing: any bad item fails the batch.
        Collection `""` holds vectors whose wire pk has no `collection:` prefix."""
        check_vector_collection(collection)
        keys = [check_key(item.key) for item in items]
        if not keys:
            await self._follow()
            return UpsertResult(inserted=0, errors=0, dimension=self._mirror.index.dimension)
        fields = [encode_fields(item.fields) for item in items]
        vectors = [item.vector for item in items]
        dimension = await self._write(self._write_vectors, collection, keys, vectors, fields)
        return UpsertResult(inserted=len(keys), errors=0, dimension=dimension)

    def _write_vectors(
        self,
        connection: sqlite3.Connection,
        collection: str,
        keys: list[str],
        vectors: list[Sequence[float]],
        fields: list[str],
    ) -> int:
        """On the writer thread: validate, commit (with the change log), then apply to the
        index. The dimension is re-read inside the transaction: another process may have
        fixed it since this one last looked."""
        known = self._mirror.index.dimension
        expected = known if known is not None else len(vectors[0])
        for vector in vectors:
            if len(vector) != expected:
                raise DimensionMismatch(expected, len(vector))
        rows = _as_matrix(vectors, expected)
        blobs = [row.tobytes() for row in rows.astype("<f4", copy=False)]
        changes: list[store.Change] = []
        with store.transaction(connection):
            stored = store.read_meta(connection, "dimension")
            if stored is None:
                store.write_meta(connection, "dimension", str(expected))
                changes.append(("dimension", "", "", "upsert"))
            elif int(stored) != expected:
                raise DimensionMismatch(int(stored), expected)
            store.put_vectors(connection, collection, zip(keys, blobs, fields, strict=True))
            changes.extend(("vector", collection, key, "upsert") for key in keys)
            seqs = self._log(connection, changes)
        self._mirror.own_write(seqs, lambda index, _: index.upsert(collection, keys, rows))
        self._maybe_prune(connection)
        return expected

    async def delete_vectors(self, collection: str, keys: Sequence[str]) -> int:
        check_vector_collection(collection)
        wanted = check_keys(keys)
        if not wanted:
            return 0
        return await self._write(self._delete_vectors, collection, wanted)

    def _delete_vectors(
        self, connection: sqlite3.Connection, collection: str, keys: list[str]
    ) -> int:
        with store.transaction(connection):
            deleted = store.delete_vectors(connection, collection, keys)
            seqs = self._log(connection, [("vector", collection, key, "delete") for key in deleted])
        self._mirror.own_write(seqs, lambda index, _: index.remove(collection, keys))
        self._maybe_prune(connection)
        return len(deleted)

    def vector_keys(self) -> list[tuple[str, str]]:
        """Every stored `(collection, key)` (embedded only: for the wire API's prefix delete).
        Synchronous, so other processes' changes are applied right here when there are any."""
        if self._writer is not None and self._changed() is not None:
            try:
                self._follow_blocking()
            except sqlite3.Error as exc:
                raise _store_error(exc) from exc
        return self._mirror.index.keys()

    async def search_vectors(
        self, vector: Sequence[float], k: int, collection: str | None = None
    ) -> list[VectorHit]:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ThemisBadRequest(f"k must be an integer of at least 1, got {k!r}")
        if collection is not None:
            check_vector_collection(collection)
        query = _as_matrix([vector], len(vector))[0]
        self._running_writer()
        if (latest := self._changed()) is not None:
            await self._catch_up(latest)
        index = self._mirror.index
        dimension = index.dimension
        if dimension is None:
            return []
        if query.shape[0] != dimension:
            raise DimensionMismatch(dimension, query.shape[0])
        inline = index.rows_scanned(collection) * dimension <= _INLINE_SEARCH_FLOATS
        hits = await self._in_memory_work(inline, index.search, query, k, collection)
        return [VectorHit(collection=name, key=key, distance=d) for name, key, d in hits]

    # --- graph --------------------------------------------------------------------------

    async def add_edge(self, edge: Edge) -> None:
        await self.add_edges([edge])

    async def add_edges(self, edges: Sequence[Edge]) -> None:
        """Insert or replace several edges in one transaction (embedded only)."""
        rows = [edge_row(edge) for edge in edges]
        if rows:
            await self._write(self._write_edges, list(edges), rows)

    def _write_edges(
        self, connection: sqlite3.Connection, edges: list[Edge], rows: list[store.EdgeRow]
    ) -> None:
        with store.transaction(connection):
            store.put_edges(connection, rows)
            seqs = self._log(connection, [("edge", "", row[0], "upsert") for row in rows])
        self._mirror.own_write(seqs, lambda _, graph: graph.add(edges))
        self._maybe_prune(connection)

    async def delete_edge(self, edge_id: str) -> None:
        check_key(edge_id)
        await self._write(self._delete_edge, edge_id)

    def _delete_edge(self, connection: sqlite3.Connection, edge_id: str) -> None:
        with store.transaction(connection):
            deleted = store.delete_edge(connection, edge_id)
            seqs = self._log(connection, [("edge", "", edge_id, "delete")] if deleted else [])
        self._mirror.own_write(seqs, lambda _, graph: graph.remove(edge_id))
        self._maybe_prune(connection)

    async def traverse(self, query: TraversalQuery) -> Traversal:
        check_query(query)
        self._running_writer()
        if (latest := self._changed()) is not None:
            await self._catch_up(latest)
        graph = self._mirror.graph
        inline = len(graph) <= _INLINE_GRAPH_EDGES
        return await self._in_memory_work(inline, graph.traverse, query)

    # --- AQL and secondary indexes (the query language lives in themis/aql) --------------

    async def aql(
        self,
        query: str,
        bind_vars: Mapping[str, Any] | None = None,
        *,
        batch_size: int | None = None,
        cursor: str | None = None,
        explain: bool = False,
        allow_full_scan: bool = False,
    ) -> AqlResult:
        """A read-only AQL query with native bind variables (see `ThemisBackend.aql`).
        Like the server, FILTER/SORT on an unindexed field needs `allow_full_scan`."""
        engine = await self._aql_engine()
        prepared = engine.prepare(
            query,
            bind_vars,
            batch_size=batch_size,
            cursor=cursor,
            explain=explain,
            allow_full_scan=allow_full_scan,
        )
        traverse = None
        if prepared.uses_graph:
            await self._follow()
            traverse = self._mirror.graph.traverse
        return await self._read(False, engine.run, prepared, traverse)

    async def create_index(
        self, collection: str, field: str, type: str | None = None, *, unique: bool = False
    ) -> aql_indexes.FieldIndex:
        """An index on `collection.field` (`equality` or `range`; both serve every
        comparison and SORT): a SQLite expression index, covering existing documents."""
        check_collection(collection)
        aql_indexes.check_field(field)
        kind = aql_indexes.index_type(type)
        if unique:
            raise ThemisUnsupported("the embedded engine has no unique indexes")
        await self._aql_engine()
        return await self._write(aql_indexes.create, collection, field, kind)

    async def drop_index(self, collection: str, field: str) -> bool:
        """Drop the index on `collection.field`; False if there was none."""
        check_collection(collection)
        aql_indexes.check_field(field)
        await self._aql_engine()
        return await self._write(aql_indexes.drop, collection, field)

    async def reindex(self, collection: str) -> list[aql_indexes.FieldIndex]:
        """Rebuild a collection's indexes (never needed here; the wire API has it)."""
        check_collection(collection)
        await self._aql_engine()
        return await self._write(aql_indexes.rebuild, collection)

    async def _aql_engine(self) -> AqlEngine:
        """Made on first use: the index registry and the cursor secret live in the file."""
        if self._aql is None:
            stored = await self._write(aql_indexes.prepare)
            secret = cursor_key(self._settings.aql.cursor_secret, stored)
            self._aql = AqlEngine(secret, self._settings.aql, aql_indexes.indexed_fields)
        return self._aql


def _as_matrix(vectors: Sequence[Sequence[float]], dimension: int) -> np.ndarray[Any, Any]:
    """Vectors as a float32 matrix; non-numbers, NaN and infinities are a bad request."""
    if dimension == 0:
        raise ThemisBadRequest("a vector must have at least one element")
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            rows = np.array(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ThemisBadRequest("vector elements must be numbers") from exc
    if rows.ndim != 2 or rows.shape[1] != dimension:
        raise ThemisBadRequest("each vector must be a flat list of numbers")
    if not np.isfinite(rows).all():
        raise ThemisBadRequest("vectors must not contain NaN or infinity (or exceed float32)")
    return rows


def _store_error(exc: sqlite3.Error) -> ThemisError:
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return ThemisUnavailable(f"embedded store is busy: {text}", retry_after=0.1)
    return ThemisServerError(f"embedded store failed: {text}")
