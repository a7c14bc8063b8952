"""Storing vectors (given, or embedded from text) with their documents."""

from __future__ import annotations

from litestar import post
from litestar.params import JSONBody

from ...adapter import UpsertEntry
from ...context import Ctx
from ..problem_docs import problem_responses
from .models import UpsertRequest, UpsertResponse

ERRORS = problem_responses()


@post(
    "/themis/vectors", status_code=200, opt={"scope": "write"}, tags=["vectors"], responses=ERRORS
)
async def upsert_vectors(ctx: Ctx, data: JSONBody[UpsertRequest]) -> UpsertResponse:
    """Store up to 1000 items; texts without a vector are embedded in one batch."""
    entries = [
        UpsertEntry(key=i.key, vector=i.vector, text=i.text, document=i.document)
        for i in data.items
    ]
    result = await ctx.adapter.upsert(data.collection, entries)
    return UpsertResponse(data.collection, result.inserted, result.errors, result.dimension)


ROUTES = [upsert_vectors]
