"""The SQLite layout of the embedded engine and the statements that read and write it.

One file holds everything: `documents` (JSON text per collection and key), `vectors`
(float32 blobs beside their flat `fields`), `edges`, and `meta` (the fixed vector dimension
and the schema version). Bodies are JSON *text*, so a later AQL layer can query them with
`json_extract(body, '$.city')` and index such expressions.

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
"""

EdgeRow = tuple[str, str, str, str | None, float | None, str]


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

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self._connection.execute("BEGIN IMMEDIATE")
        return self._connection

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._connection.execute("ROLLBACK" if exc_type is not None else "COMMIT")


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


def delete_vectors(connection: sqlite3.Connection, collection: str, keys: Sequence[str]) -> int:
    """Delete rows by key; returns how many existed. Call inside a transaction."""
    deleted = 0
    for chunk in chunked(keys):
        marks = ",".join("?" * len(chunk))
        cursor = connection.execute(
            f"DELETE FROM vectors WHERE collection = ? AND key IN ({marks})",  # noqa: S608
            (collection, *chunk),
        )
        deleted += cursor.rowcount
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
