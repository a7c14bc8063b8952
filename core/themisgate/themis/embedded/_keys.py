"""Validation of collection names and keys, shared by every embedded operation.

The wire API addresses a document as `collection:key`, splitting at the first `:`; so a
collection may not contain `:` (the key may). Both must be non-empty, and NUL is refused
because SQLite's C API and many clients treat it as the end of a string.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ThemisBadRequest


def check_collection(collection: object) -> str:
    """Return `collection` if it can name a collection, else raise `ThemisBadRequest`."""
    if not isinstance(collection, str) or not collection:
        raise ThemisBadRequest("collection must be a non-empty string")
    if ":" in collection:
        raise ThemisBadRequest(f"collection {collection!r} must not contain ':'")
    if "\x00" in collection:
        raise ThemisBadRequest("collection must not contain NUL characters")
    return collection


def check_vector_collection(collection: object) -> str:
    """Like `check_collection`, but the empty collection is allowed: it holds vectors whose
    wire pk has no `collection:` prefix (written by clients of the bare wire API), which the
    http backend reports as collection `""` too."""
    if collection == "":
        return ""
    return check_collection(collection)


def check_key(key: object) -> str:
    """Return `key` if it can name a document, vector or edge, else raise `ThemisBadRequest`."""
    if not isinstance(key, str) or not key:
        raise ThemisBadRequest("key must be a non-empty string")
    if "\x00" in key:
        raise ThemisBadRequest("key must not contain NUL characters")
    return key


def check_keys(keys: Iterable[object]) -> list[str]:
    """Validate many keys, dropping duplicates but keeping the first-seen order."""
    return list(dict.fromkeys(check_key(key) for key in keys))
