"""Secondary indexes of the embedded engine, for AQL: the wire API's `/index/create` as
SQLite expression indexes.

An index on `users.city` is `CREATE INDEX … ON documents(<rank>, json_extract(body,
'$.city')) WHERE collection = 'users'` (see `compile_sqlite` for why both columns), and a
row in `aql_indexes` records it, so every process sharing the file knows which fields are
indexed — AQL needs that to follow the server's rule that FILTER and SORT on an unindexed
field are a full scan. Unlike the server, an index covers the rows that exist when it is
created (the server indexes them only on `/index/reindex`).

Each function takes the connection first; the writer thread runs those that change the
schema, any reader the rest.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from typing import Literal

import msgspec

from ..aql.compile_sqlite import sql_rank, sql_text, sql_value
from ..errors import ThemisBadRequest, ThemisUnsupported
from . import store

IndexType = Literal["equality", "range"]
FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_TYPES: dict[str, IndexType] = {
    "equality": "equality",
    "regular": "equality",
    "hash": "equality",
    "range": "range",
    "sorted": "range",
}
_SECRET = "aql_cursor_secret"  # noqa: S105 (a meta row name, not a secret)
SCHEMA = """
CREATE TABLE IF NOT EXISTS aql_indexes (
    collection TEXT NOT NULL,
    field      TEXT NOT NULL,
    type       TEXT NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (collection, field)
) WITHOUT ROWID
"""


class FieldIndex(msgspec.Struct, frozen=True):
    collection: str
    field: str
    type: IndexType
    entries: int = 0


def index_type(given: object) -> IndexType:
    """The index type a request names (the server's names and a few aliases)."""
    if given is None:
        return "equality"
    kind = _TYPES.get(str(given).lower()) if isinstance(given, str) else None
    if kind is None:
        if given == "fulltext":
            raise ThemisUnsupported("the embedded engine has no fulltext indexes")
        raise ThemisBadRequest(f"index type must be equality or range, not {given!r}")
    return kind


def check_field(field: object) -> str:
    if not isinstance(field, str) or len(field) > 256 or not FIELD.fullmatch(field):
        raise ThemisBadRequest(
            f"an indexed field is a name (letters, digits, _) or a dotted path such as "
            f"address.city, not {field!r}"
        )
    return field


def prepare(connection: sqlite3.Connection) -> bytes:
    """Once per process, on the writer: create the registry, and return the secret that
    signs cursors (made once per database file, so every process sharing it agrees)."""
    with store.transaction(connection):
        connection.execute(SCHEMA)
        secret = store.read_meta(connection, _SECRET)
        if secret is None:
            secret = secrets.token_hex(32)
            store.write_meta(connection, _SECRET, secret)
    return bytes.fromhex(secret)


def create(
    connection: sqlite3.Connection, collection: str, field: str, kind: IndexType
) -> FieldIndex:
    name = _name(collection, field)
    names = tuple(field.split("."))
    with store.transaction(connection):
        connection.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON documents "
            f"({sql_rank(names)}, {sql_value(names)}) WHERE collection = {sql_text(collection)}"
        )
        connection.execute(
            "INSERT INTO aql_indexes (collection, field, type, name) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (collection, field) DO UPDATE SET type = excluded.type",
            (collection, field, kind, name),
        )
    return FieldIndex(collection, field, kind)


def drop(connection: sqlite3.Connection, collection: str, field: str) -> bool:
    with store.transaction(connection):
        rows = connection.execute(
            "DELETE FROM aql_indexes WHERE collection = ? AND field = ? RETURNING name",
            (collection, field),
        ).fetchall()
        for (name,) in rows:
            connection.execute(f"DROP INDEX IF EXISTS {name}")
    return bool(rows)


def rebuild(connection: sqlite3.Connection, collection: str) -> list[FieldIndex]:
    """`REINDEX` a collection's indexes; each reports how many documents it covers."""
    found = listed(connection, collection)
    entries = int(
        connection.execute(
            "SELECT count(*) FROM documents WHERE collection = ?", (collection,)
        ).fetchall()[0][0]
    )
    for info in found:
        connection.execute(f"REINDEX {_name(collection, info.field)}")
    return [msgspec.structs.replace(info, entries=entries) for info in found]


def listed(connection: sqlite3.Connection, collection: str) -> list[FieldIndex]:
    rows = connection.execute(
        "SELECT field, type FROM aql_indexes WHERE collection = ? ORDER BY field", (collection,)
    ).fetchall()
    return [FieldIndex(collection, str(field), kind) for field, kind in rows]


def indexed_fields(connection: sqlite3.Connection, collection: str) -> frozenset[str]:
    rows = connection.execute(
        "SELECT field FROM aql_indexes WHERE collection = ?", (collection,)
    ).fetchall()
    return frozenset(str(field) for (field,) in rows)


def _name(collection: str, field: str) -> str:
    """A safe, stable SQLite index name for any collection name."""
    digest = hashlib.sha256(f"{collection}\x00{field}".encode()).hexdigest()[:20]
    return f"aql_index_{digest}"
