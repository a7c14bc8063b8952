"""`/graph/*` and `/content/import`: edges in, breadth-first traversal out.

`POST /graph/edge` is served (older servers answer 404 and take edges only through
`/content/import`, which is served too). A negative depth, or an import without `content`,
is a 400 here where the server answers 500. `/content/import` stores edges only: chunks are
refused (store their vectors with `/vector/batch_insert`), and the content record itself is
not kept (`GET /content/{id}` is not served).
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from litestar import Request, Response, delete, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from ..models import Direction, Edge, TraversalQuery
from ._context import LiteContext
from ._wire import WireError, field, json_response, read_object

_RESERVED = frozenset({"id", "_key", "_id", "_from", "_to", "_type", "type", "_weight", "weight"})
_DIRECTIONS: dict[str, Direction] = {
    "out": "out",
    "outbound": "out",
    "in": "in",
    "inbound": "in",
    "any": "any",
}


def routes(ctx: LiteContext) -> list[HTTPRouteHandler]:
    backend = ctx.backend

    @post("/graph/traverse", status_code=200)
    async def traverse(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        if "start_vertex" not in body or "max_depth" not in body:
            raise WireError(400, "Missing 'start_vertex' or 'max_depth'")
        start = field(body, "start_vertex", str, "a string")
        max_depth = field(body, "max_depth", int, "an integer")
        if not start or max_depth is None:
            raise WireError(400, "Missing 'start_vertex' or 'max_depth'")
        if max_depth < 0:
            raise WireError(400, "Field 'max_depth' must not be negative")
        min_depth = field(body, "min_depth", int, "an integer") or 0
        direction = _DIRECTIONS.get(str(body.get("direction", "out")).lower())
        if direction is None:
            raise WireError(400, "Field 'direction' must be out, in or any")
        edge_type = field(body, "edge_type", str, "a string")
        result = await backend.traverse(
            TraversalQuery(
                start=start,
                max_depth=max_depth,
                min_depth=min_depth,
                direction=direction,
                edge_type=edge_type,
            )
        )
        return json_response(
            {
                "start_vertex": start,
                "max_depth": max_depth,
                "visited_count": len(result.vertices),
                "visited": result.vertices,
            }
        )

    @post("/graph/edge", status_code=201)
    async def add_edge(request: Request[Any, Any, Any]) -> Response[bytes]:
        edge = _edge(await read_object(request))
        await backend.add_edge(edge)
        return json_response({"status": "ok", "edge_id": edge.id}, 201)

    @delete("/graph/edge/{edge_id:str}", status_code=200)
    async def delete_edge(edge_id: FromPath[str]) -> Response[bytes]:
        await backend.delete_edge(edge_id)
        return json_response({"status": "ok", "edge_id": edge_id})

    @post("/content/import", status_code=200)
    async def content_import(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        content = body.get("content")
        if not isinstance(content, dict) or not isinstance(content.get("id"), str):
            raise WireError(400, "Field 'content' must be an object with a string 'id'")
        if body.get("chunks"):
            raise WireError(
                400, "themis-lite imports edges only: store chunk vectors with /vector/batch_insert"
            )
        raw_edges = body.get("edges") or []
        if not isinstance(raw_edges, list):
            raise WireError(400, "Field 'edges' must be an array")
        await backend.add_edges([_edge(raw) for raw in raw_edges])
        return json_response({"status": "success", "content_id": content["id"]})

    return [traverse, add_edge, delete_edge, content_import]


def _edge(raw: Any) -> Edge:
    """A wire edge `{"id", "_from", "_to", "_type"|"type", "_weight"|"weight", ...}`; other
    fields become properties, and a missing id is generated."""
    if not isinstance(raw, dict):
        raise WireError(400, "Each edge must be an object")
    source, target = raw.get("_from"), raw.get("_to")
    if not isinstance(source, str) or not source or not isinstance(target, str) or not target:
        raise WireError(400, "An edge requires non-empty string fields '_from' and '_to'")
    edge_id = raw.get("id", raw.get("_key"))
    if edge_id is None:
        edge_id = uuid.uuid4().hex
    if not isinstance(edge_id, str) or not edge_id:
        raise WireError(400, "Field 'id' of an edge must be a non-empty string")
    edge_type = raw.get("_type", raw.get("type"))
    if edge_type is not None and not isinstance(edge_type, str):
        raise WireError(400, "Field '_type' of an edge must be a string")
    weight = raw.get("_weight", raw.get("weight"))
    if weight is not None and (
        isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight)
    ):
        raise WireError(400, "Field '_weight' of an edge must be a number")
    return Edge(
        id=edge_id,
        source=source,
        target=target,
        type=edge_type,
        weight=None if weight is None else float(weight),
        properties={name: value for name, value in raw.items() if name not in _RESERVED},
    )
