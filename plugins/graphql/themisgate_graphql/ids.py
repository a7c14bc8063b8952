"""Document ids on the GraphQL surface: `collection:key`, the form ThemisDB itself uses
for primary keys and graph vertices (`users:alice`), so a `GraphNode.id` is a valid
`document(id:)` argument. Collections and keys follow the v4 API's rules; neither may
contain `:`."""

from __future__ import annotations

import re

from .errors import user_error

COLLECTION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,511}$")


def parse_id(document_id: str) -> tuple[str, str] | None:
    """(collection, key) of a `collection:key` id, or None when it is not one."""
    collection, sep, key = document_id.partition(":")
    if not sep or not COLLECTION.match(collection) or not KEY.match(key):
        return None
    return collection, key


def require_id(document_id: str) -> tuple[str, str]:
    parsed = parse_id(document_id)
    if parsed is None:
        raise user_error(
            f"{document_id[:80]!r} is not a document id; ids are 'collection:key' "
            "(collection [A-Za-z0-9_.-], key [A-Za-z0-9_.@-], no ':' in either)"
        )
    return parsed


def require_collection(collection: str) -> str:
    if not COLLECTION.match(collection):
        raise user_error(
            f"{collection[:80]!r} is not a collection name; use 1-128 of [A-Za-z0-9_.-], "
            "not starting with '.' or '-'"
        )
    return collection


def format_id(collection: str, key: str) -> str:
    return f"{collection}:{key}"
