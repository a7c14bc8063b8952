"""What the backend puts on the wire, checked before it is sent.

The server accepts things that later break it: a blob that is not JSON (a later full-scan
AQL over the table drops the connection), nested vector fields, `NaN`. Everything here
refuses such input with `ThemisBadRequest` before a byte leaves the process, and packs
vector batches so no request crosses the server's 1 MiB body limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import msgspec

from ..errors import DimensionMismatch, ThemisBadRequest
from ..models import Document
from .client import MAX_BODY_BYTES

Scalar = str | int | float | bool | None


def check_collection(collection: str) -> str:
    """A collection is the entity-key prefix before the first `:`, so it cannot hold one."""
    if not isinstance(collection, str) or not collection or ":" in collection:
        raise ThemisBadRequest(
            f"invalid collection {collection!r}: it must be a non-empty string without ':'"
        )
    return collection


def entity_key(collection: str, key: str) -> str:
    """`collection:key`, the server's entity key (a collection is the prefix before `:`)."""
    check_collection(collection)
    if not isinstance(key, str) or not key:
        raise ThemisBadRequest(f"invalid key {key!r} in {collection}: it must be non-empty")
    return f"{collection}:{key}"


def path_segment(value: str) -> str:
    """A path segment the server cannot read as `..` or a nested path."""
    return quote(value, safe=":@")


def split_pk(pk: str) -> tuple[str, str]:
    """(collection, key) of a vector pk; a pk written by another client without a
    `collection:` prefix has the empty collection."""
    collection, separator, key = pk.partition(":")
    return (collection, key) if separator else ("", pk)


def encode_blob(document: Document, what: str) -> str:
    """The document as the JSON string the server stores; refuses what is not JSON."""
    if not isinstance(document, dict):
        raise ThemisBadRequest(
            f"cannot {what}: a document is a JSON object, not {type(document).__name__}"
        )
    try:
        return json.dumps(document, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ThemisBadRequest(f"cannot {what}: the document is not valid JSON: {exc}") from None


def check_vector(vector: Sequence[float], expected: int | None, what: str) -> list[float]:
    """The vector as a list of finite floats of the expected dimension (if one is known)."""
    try:
        values = [float(x) for x in vector]
    except (TypeError, ValueError):
        raise ThemisBadRequest(f"cannot {what}: a vector is a sequence of numbers") from None
    if not values:
        raise ThemisBadRequest(f"cannot {what}: the vector is empty")
    if not all(math.isfinite(x) for x in values):
        raise ThemisBadRequest(f"cannot {what}: the vector contains NaN or infinity")
    if expected is not None and len(values) != expected:
        raise DimensionMismatch(expected, len(values))
    return values


def check_fields(fields: Mapping[str, Any], what: str) -> dict[str, Scalar]:
    """Vector fields: the server keeps only flat scalars, so nothing else is sent."""
    for name, value in fields.items():
        if not isinstance(name, str):
            raise ThemisBadRequest(f"cannot {what}: field names are strings, got {name!r}")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ThemisBadRequest(
                f"cannot {what}: field {name!r} is {type(value).__name__}; vector fields "
                "are flat scalars (string, number, boolean, null)"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ThemisBadRequest(f"cannot {what}: field {name!r} is NaN or infinity")
    return dict(fields)


def pack(
    items: Sequence[Any], envelope: Mapping[str, Any], list_key: str, what: str
) -> Iterator[dict[str, Any]]:
    """Request bodies `{**envelope, list_key: [...]}`, each at most 1 MiB once encoded."""
    overhead = len(msgspec.json.encode({**envelope, list_key: []}))
    batch: list[Any] = []
    size = overhead
    for item in items:
        item_size = len(msgspec.json.encode(item)) + 1  # the separating comma
        if overhead + item_size > MAX_BODY_BYTES:
            raise ThemisBadRequest(
                f"cannot {what}: one item is {item_size} bytes encoded, over ThemisDB's "
                "1 MiB request limit"
            )
        if batch and size + item_size > MAX_BODY_BYTES:
            yield {**envelope, list_key: batch}
            batch, size = [], overhead
        batch.append(item)
        size += item_size
    if batch:
        yield {**envelope, list_key: batch}
