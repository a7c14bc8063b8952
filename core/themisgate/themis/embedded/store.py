"""The SQLite layout of the embedded engine and the statements that read and write it.

One file holds everything: `documents` (JSON text per collection and key), `vectors`
(float32 blobs beside their flat `fields`), `edges`, `meta` (the fixed vector dimension
and the schema version) and `changes`, the log of vector, edge and dimension writes that
lets every process keep its in-memory indexes current (see `changes.py`). Bodies are JSON
*text*, so a later AQL layer can query them with `json_extract(body, '$.city')` and index
such expressions.

Durability: the database runs in WAL mode with `synchronous=NORMAL`. A commit appends the
transaction to the `-wal` file with write(2) before `COMMIT` returns; the data is then in the
operating system's page cache, which outlives the process. So every acknowledged write
survives the process being killed (even with SIGKILL) — SQLite replays the WAL on the next
open. Only an operating-system crash or power loss can drop the last few transactions
(`synchronous=FULL` would fsync each commit for that, at several times the write cost);
the database file itself can never be corrupted in either case.

Every function here is synchronous and takes the connection first: they run on the one
writer thread (see `_worker.py`) or, for single reads, on a thread's own read connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1"
MEMORY = ":memory:"
# SQLite's default limit on `?` parameters is 32766; stay well below it per statement
_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    body       TEXT NOT NULL,          -- JSON object as text: json_extract-friendly
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS vectors (
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    vector     BLOB NOT NULL,          -- little-endian float32, as given (not normalised)
    fields     TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (collection, key)
);

-- a rowid table on purpose: rowid order is insertion order, which is BFS neighbour order
CREATE TABLE IF NOT EXISTS edges (
    id         TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    target     TEXT NOT NULL,
    type       TEXT,
    weight     REAL,
    properties TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS edges_source ON edges (source);
CREATE INDEX IF NOT EXISTS edges_target ON edges (target);

-- one row per vector, edge or dimension write, appended in the write's own transaction.
-- A seq is max(seq) + 1 and pruning never deletes the newest row, so no seq is reused:
-- AUTOINCREMENT (and CHECK constraints) would double the cost of logging (see changes.py)
CREATE TABLE IF NOT EXISTS changes (
    seq        INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,          -- 'vector', 'edge' or 'dimension'
    collection TEXT NOT NULL,          -- '' for edges and the dimension
    key        TEXT NOT NULL,          -- vector key, edge id, or '' for the dimension
    op         TEXT NOT NULL,          -- 'upsert' or 'delete'
    at         REAL NOT NULL           -- unix time of the write, for pruning
);
"""

EdgeRow = tuple[str, str, str, str | None, float | None, str]
# kind, collection, key, op: what `log_changes` appends
Change = tuple[str, str, str, str]
# seq, kind, collection, key, the vector blob now stored (or None), the edge row now stored
ChangeRow = tuple[int, str, str, str, bytes | None, EdgeRow | None]
# meta entry: every change row with a seq up to this one has been pruned
PRUNED_THROUGH = "changes_pruned_through"


def connect(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    """Open `path` (creating its folder) in autocommit mode; transactions are explicit."""
    if path != MEMORY:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=256
    )
    connection.execute("PRAGMA busy_timeout = 5000")
    if read_only:
        connection.execute("PRAGMA query_only = ON")
    else:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA temp_store = MEMORY")
    return connection


def create_schema(connection: sqlite3.Connection) -> None:
    with transaction(connection):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.execute(
            "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)",
            (SCHEMA_VERSION,),
        )


class transaction:
    """`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` if the block raises."""

    _begin = "BEGIN IMMEDIATE"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self._connection.execute(self._begin)
        return self._connection

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._connection.execute("ROLLBACK" if exc_type is not None else "COMMIT")


class snapshot(transaction):
    """A read transaction: every statement in the block sees the same committed state."""

    _begin = "BEGIN DEFERRED"


def chunked(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- meta -------------------------------------------------------------------------------


def read_meta(connection: sqlite3.Connection, name: str) -> str | None:
    rows = connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchall()
    return str(rows[0][0]) if rows else None


def write_meta(connection: sqlite3.Connection, name: str, value: str) -> None:
    connection.execute(
        "INSERT INTO meta (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


# --- documents --------------------------------------------------------------------------


def put_document(connection: sqlite3.Connection, collection: str, key: str, body: str) -> None:
    # one statement is its own transaction in autocommit mode: no BEGIN/COMMIT round trips
    connection.execute(
        "INSERT INTO documents (collection, key, body) VALUES (?, ?, ?) "
        "ON CONFLICT (collection, key) DO UPDATE SET body = excluded.body",
        (collection, key, body),
    )


def get_document(connection: sqlite3.Connection, collection: str, key: str) -> str | None:
    # fetchall steps the statement to its end, which ends the read transaction at once (an
    # open one would pin an old snapshot and keep WAL checkpoints from finishing)
    rows = connection.execute(
        "SELECT body FROM documents WHERE collection = ? AND key = ?", (collection, key)
    ).fetchall()
    return str(rows[0][0]) if rows else None


def get_documents(
    connection: sqlite3.Connection, collection: str, keys: Sequence[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in chunked(keys):
        marks = ",".join("?" * len(chunk))
        rows = connection.execute(
            f"SELECT key, body FROM documents WHERE collection = ? AND key IN ({marks})",  # noqa: S608
            (collection, *chunk),
        )
        found.update((str(key), str(body)) for key, body in rows)
    return found


def delete_document(connection: sqlite3.Connection, collection: str, key: str) -> None:
    connection.execute("DELETE FROM documents WHERE collection = ? AND key = ?", (collection, key))


# --- vectors ----------------------------------------------------------------------------


def put_vectors(
    connection: sqlite3.Connection, collection: str, rows: Iterable[tuple[str, bytes, str]]
) -> None:
    """Upsert `(key, float32 blob, fields JSON)` rows; call inside a transaction."""
    connection.executemany(
        "INSERT INTO vectors (collection, key, vector, fields) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (collection, key) DO UPDATE "
        "SET vector = excluded.vector, fields = excluded.fields",
        ((collection, key, blob, fields) for key, blob, fields in rows),
    )


def delete_vectors(
    connection: sqlite3.Connection, collection: str, keys: Sequence[str]
) -> list[str]:
    """Delete rows by key; returns the keys that existed. Call inside a transaction."""
    deleted: list[str] = []
    for chunk in chunked(keys):
        marks = ",".join("?" * len(chunk))
        rows = connection.execute(
            f"DELETE FROM vectors WHERE collection = ? AND key IN ({marks}) RETURNING key",  # noqa: S608
            (collection, *chunk),
        ).fetchall()
        deleted.extend(str(key) for (key,) in rows)
    return deleted


def iter_vectors(connection: sqlite3.Connection) -> Iterator[tuple[str, str, bytes]]:
    """Every stored vector as `(collection, key, blob)`, grouped by collection."""
    for collection, key, blob in connection.execute(
        "SELECT collection, key, vector FROM vectors ORDER BY collection, rowid"
    ):
        yield str(collection), str(key), bytes(blob)


# --- edges ------------------------------------------------------------------------------


def put_edges(connection: sqlite3.Connection, rows: Iterable[EdgeRow]) -> None:
    """Insert or replace edges; a replaced edge moves to the end of the insertion order."""
    connection.executemany(
        "INSERT OR REPLACE INTO edges (id, source, target, type, weight, properties) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def delete_edge(connection: sqlite3.Connection, edge_id: str) -> bool:
    return connection.execute("DELETE FROM edges WHERE id = ?", (edge_id,)).rowcount > 0


def iter_edges(connection: sqlite3.Connection) -> Iterator[EdgeRow]:
    yield from connection.execute(
        "SELECT id, source, target, type, weight, properties FROM edges ORDER BY rowid"
    )


# --- the change log (see changes.py) -----------------------------------------------------


def log_changes(
    connection: sqlite3.Connection, changes: Sequence[Change], at: float
) -> tuple[int, int] | None:
    """Append `changes`; returns the first and last seq they got (None if there were none).
    Call inside the write's transaction: it holds the write lock, so nobody else appends in
    between and the seqs are consecutive."""
    if not changes:
        return None
    connection.executemany(
        "INSERT INTO changes (kind, collection, key, op, at) VALUES (?, ?, ?, ?, ?)",
        ((kind, collection, key, op, at) for kind, collection, key, op in changes),
    )
    last = int(connection.execute("SELECT last_insert_rowid()").fetchall()[0][0])
    return last - len(changes) + 1, last


def latest_change(connection: sqlite3.Connection | sqlite3.Cursor) -> int:
    """The newest seq, 0 if nothing was ever logged: a seek to the end of the rowid tree.
    `fetchall` runs the statement to its end, so no read transaction stays open."""
    return int(connection.execute("SELECT max(seq) FROM changes").fetchall()[0][0] or 0)


def changes_since(connection: sqlite3.Connection, seq: int) -> Iterator[ChangeRow]:
    """Change rows after `seq`, oldest first, each beside the vector or edge as it is stored
    now (None if it is gone). Run inside a `snapshot` so the rows and the state agree."""
    for row in connection.execute(
        "SELECT c.seq, c.kind, c.collection, c.key, v.vector, "
        "e.id, e.source, e.target, e.type, e.weight, e.properties "
        "FROM changes AS c "
        "LEFT JOIN vectors AS v "
        "ON c.kind = 'vector' AND v.collection = c.collection AND v.key = c.key "
        "LEFT JOIN edges AS e ON c.kind = 'edge' AND e.id = c.key "
        "WHERE c.seq > ? ORDER BY c.seq",
        (seq,),
    ):
        change, kind, collection, key, blob, edge_id = row[:6]
        edge: EdgeRow | None = None if edge_id is None else (edge_id, *row[6:])
        yield int(change), str(kind), str(collection), str(key), blob, edge


def pruned_through(connection: sqlite3.Connection) -> int:
    """Every change with a seq up to this one may have been pruned."""
    value = read_meta(connection, PRUNED_THROUGH)
    return 0 if value is None else int(value)


def prune_changes(connection: sqlite3.Connection, before: float) -> int:
    """Delete the change rows logged before `before` (unix time), but never the newest one
    (its seq tells late readers how far the log went). Rows go in seq order, up to the
    first one young enough to keep: a scan that stops there, then a rowid range delete."""
    with transaction(connection):
        young = connection.execute(
            "SELECT seq FROM changes WHERE at >= ? ORDER BY seq LIMIT 1", (before,)
        ).fetchall()
        keep = int(young[0][0]) if young else latest_change(connection)
        deleted = connection.execute("DELETE FROM changes WHERE seq < ?", (keep,)).rowcount
        if deleted:
            write_meta(connection, PRUNED_THROUGH, str(max(keep - 1, pruned_through(connection))))
    return int(deleted)


# --- statistics -------------------------------------------------------------------------


def counts(connection: sqlite3.Connection) -> dict[str, Any]:
    """Row counts and file size for `stats()`; full scans, so run off the event loop."""

    def scalar(sql: str) -> int:
        return int(connection.execute(sql).fetchone()[0])

    page_size = scalar("PRAGMA page_size")
    return {
        "documents": scalar("SELECT count(*) FROM documents"),
        "vectors": scalar("SELECT count(*) FROM vectors"),
        "edges": scalar("SELECT count(*) FROM edges"),
        "collections": scalar(
            "SELECT count(*) FROM (SELECT collection FROM documents "
            "UNION SELECT collection FROM vectors)"
        ),
        "document_collections": scalar("SELECT count(DISTINCT collection) FROM documents"),
        "vector_collections": scalar("SELECT count(DISTINCT collection) FROM vectors"),
        "database_bytes": page_size * scalar("PRAGMA page_count"),
        "free_bytes": page_size * scalar("PRAGMA freelist_count"),
    }
