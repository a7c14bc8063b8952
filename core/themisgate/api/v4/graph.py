"""Edges and traversals."""

from __future__ import annotations

import uuid

from litestar import delete, post
from litestar.params import FromPath, JSONBody

from ...context import Ctx
from ...themis.models import Edge, TraversalQuery
from ..problem_docs import problem_responses
from .models import EdgeRequest, EdgeResponse, Key, TraverseRequest, TraverseResponse

ERRORS = problem_responses()


def _edge_response(edge: Edge) -> EdgeResponse:
    return EdgeResponse(edge.id, edge.source, edge.target, edge.type, edge.weight, edge.properties)


@post(
    "/themis/graph/edges", status_code=201, opt={"scope": "write"}, tags=["graph"], responses=ERRORS
)
async def add_edge(ctx: Ctx, data: JSONBody[EdgeRequest]) -> EdgeResponse:
    """Add (or replace) a directed edge; an id is generated when none is given."""
    edge = Edge(
        id=data.id or uuid.uuid4().hex,
        source=data.source,
        target=data.target,
        type=data.type,
        weight=data.weight,
        properties=dict(data.properties),
    )
    await ctx.adapter.add_edge(edge)
    return _edge_response(edge)


@delete(
    "/themis/graph/edges/{edge_id:str}", opt={"scope": "write"}, tags=["graph"], responses=ERRORS
)
async def delete_edge(ctx: Ctx, edge_id: FromPath[Key]) -> None:
    await ctx.adapter.delete_edge(edge_id)


@post(
    "/themis/graph/traverse",
    status_code=200,
    opt={"scope": "read"},
    tags=["graph"],
    responses=ERRORS,
)
async def traverse(ctx: Ctx, data: JSONBody[TraverseRequest]) -> TraverseResponse:
    """Vertices reachable from `start` within `min_depth..max_depth` hops (BFS order),
    following edges `out`, `in` or `any` direction, optionally of one `edge_type`."""
    result = await ctx.adapter.traverse(
        TraversalQuery(
            start=data.start,
            max_depth=data.max_depth,
            min_depth=data.min_depth,
            direction=data.direction,
            edge_type=data.edge_type,
        )
    )
    return TraverseResponse(
        result.start,
        result.vertices,
        [_edge_response(e) for e in result.edges],
        result.paths,
        result.depths,
    )


ROUTES = [add_edge, delete_edge, traverse]
