"""Converting between what callers hand the backend and the rows SQLite stores.

Documents must be JSON objects; vector `fields` flat scalars (what the server keeps);
edge properties JSON objects. Anything else is a `ThemisBadRequest` that says which rule.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from ..errors import ThemisBadRequest
from ..models import Document, Edge
from ._keys import check_key
from .store import EdgeRow

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_SCALARS = (str, int, float, bool, type(None))


def encode_document(document: Document) -> str:
    if not isinstance(document, dict):
        raise ThemisBadRequest("a document must be a JSON object")
    return _encode(document, "document")


def decode_document(text: str) -> Document:
    try:
        document = _decoder.decode(text)
    except msgspec.DecodeError as exc:
        raise ThemisBadRequest(f"document is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ThemisBadRequest("a document must be a JSON object")
    return document


def encode_fields(fields: dict[str, Any]) -> str:
    if not isinstance(fields, dict):
        raise ThemisBadRequest("vector fields must be an object")
    for name, value in fields.items():
        if not isinstance(value, _SCALARS):
            raise ThemisBadRequest(
                f"vector field {name!r} must be a string, number, boolean or null"
            )
    return _encode(fields, "vector fields")


def edge_row(edge: Edge) -> EdgeRow:
    check_key(edge.id)
    for role, vertex in (("source", edge.source), ("target", edge.target)):
        if not isinstance(vertex, str) or not vertex:
            raise ThemisBadRequest(f"edge {edge.id!r}: {role} must be a non-empty string")
    if edge.type is not None and not isinstance(edge.type, str):
        raise ThemisBadRequest(f"edge {edge.id!r}: type must be a string")
    weight = edge.weight
    if weight is not None:
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ThemisBadRequest(f"edge {edge.id!r}: weight must be a number")
        if not math.isfinite(weight):
            raise ThemisBadRequest(f"edge {edge.id!r}: weight must be finite")
        weight = float(weight)
    if not isinstance(edge.properties, dict):
        raise ThemisBadRequest(f"edge {edge.id!r}: properties must be an object")
    properties = _encode(edge.properties, f"edge {edge.id!r} properties")
    return (edge.id, edge.source, edge.target, edge.type, weight, properties)


def edge_from_row(row: EdgeRow) -> Edge:
    edge_id, source, target, type_, weight, properties = row
    return Edge(
        id=edge_id,
        source=source,
        target=target,
        type=type_,
        weight=weight,
        properties=_decoder.decode(properties),
    )


def _encode(value: Any, what: str) -> str:
    try:
        return _encoder.encode(value).decode()
    except (TypeError, ValueError, OverflowError) as exc:
        raise ThemisBadRequest(f"{what} cannot be stored as JSON: {exc}") from None
