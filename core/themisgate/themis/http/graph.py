"""Edges and traversals on the wire: bodies for the two edge routes, and which traversal
options may be sent to which server.

`POST /graph/edge` takes `_type`/`_weight`; on revisions without it, edges come in through
`/content/import`, whose edges carry `type`/`weight` (as recorded against the real server)
and which needs a `content` record — a minimal one named `edge-import:<edge id>`.
"""

from __future__ import annotations

from typing import Any

from ..errors import ThemisBadRequest, ThemisUnsupported
from ..models import Edge, TraversalQuery
from .features import ServerFeatures

EDGE_IMPORT_PREFIX = "edge-import:"
_RESERVED_EDGE_KEYS = frozenset({"id", "_from", "_to", "_type", "_weight", "type", "weight"})


def graph_edge_body(edge: Edge) -> dict[str, Any]:
    body = {**edge.properties, "id": edge.id, "_from": edge.source, "_to": edge.target}
    if edge.type is not None:
        body["_type"] = edge.type
    if edge.weight is not None:
        body["_weight"] = edge.weight
    return body


def content_import_body(edge: Edge) -> dict[str, Any]:
    imported = {**edge.properties, "id": edge.id, "_from": edge.source, "_to": edge.target}
    if edge.type is not None:
        imported["type"] = edge.type
    if edge.weight is not None:
        imported["weight"] = edge.weight
    content = {"id": EDGE_IMPORT_PREFIX + edge.id, "mime_type": "text/plain"}
    return {"content": content, "chunks": [], "edges": [imported]}


def check_edge(edge: Edge) -> None:
    for name, value in (("id", edge.id), ("source", edge.source), ("target", edge.target)):
        if not isinstance(value, str) or not value:
            raise ThemisBadRequest(f"invalid edge: {name} must be a non-empty string")
    clash = _RESERVED_EDGE_KEYS.intersection(edge.properties)
    if clash:
        raise ThemisBadRequest(
            f"invalid edge {edge.id}: properties may not be named {', '.join(sorted(clash))}"
        )


def check_traversal(query: TraversalQuery) -> None:
    if not isinstance(query.start, str) or not query.start:
        raise ThemisBadRequest("a traversal needs a start vertex")
    for name, depth in (("max_depth", query.max_depth), ("min_depth", query.min_depth)):
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ThemisBadRequest(f"{name} must be a whole number of at least 0, got {depth!r}")
    if query.min_depth > query.max_depth:
        raise ThemisBadRequest("min_depth must not exceed max_depth")


def extended_traversal(query: TraversalQuery, features: ServerFeatures) -> dict[str, Any]:
    """The traversal options beyond the released API, or `ThemisUnsupported` naming those
    this server does not advertise."""
    missing: list[str] = []
    options: dict[str, Any] = {}
    if query.direction != "out":
        if features.supports_direction(query.direction):
            options["direction"] = query.direction
        else:
            missing.append(f"direction {query.direction!r}")
    if query.edge_type is not None:
        if features.edge_type_filter:
            options["edge_type"] = query.edge_type
        else:
            missing.append("an edge type filter")
    if query.min_depth > 1:
        if features.min_depth:
            options["min_depth"] = query.min_depth
        else:
            missing.append("min_depth above 1")
    elif features.min_depth and options:
        options["min_depth"] = query.min_depth
    if missing:
        raise ThemisUnsupported(
            f"{' and '.join(missing)} is not supported by this ThemisDB server without AQL: "
            "its /graph/traverse walks outbound edges of every type only"
        )
    return options
