"""AQL: `POST /api/v4/themis/aql/query`, read-only queries with bind variables."""

from __future__ import annotations

from litestar import post
from litestar.params import JSONBody

from ...context import AppContext, Ctx
from ..problem_docs import problem_responses
from .models import AqlRequest, AqlResponse


@post(
    "/themis/aql/query",
    status_code=200,
    opt={"scope": "read"},
    tags=["aql"],
    responses=problem_responses(),
)
async def aql_query(ctx: Ctx, data: JSONBody[AqlRequest]) -> AqlResponse:
    """Run a read-only AQL query: `FOR … IN …`, `LET`, `FILTER`, `SORT`, `LIMIT`,
    `COLLECT … AGGREGATE`, two-FOR joins and graph traversals, with `@name` values and
    `@@name` collections in `bind_vars`. Whole documents come back as objects. With
    `batch_size`, one page and a `next_cursor` while `has_more`; send the same query and
    binds with that cursor for the next page. Queries containing `insert `, `update `,
    `delete ` or `drop ` are refused (400 `aql-forbidden-token`), as ThemisDB does."""
    return await run_aql(ctx, data)


async def run_aql(ctx: AppContext, data: AqlRequest) -> AqlResponse:
    """The v4 AQL query without HTTP, for other surfaces to answer exactly alike. Full
    scans follow `[core.themis.aql] allow_full_scan`."""
    result = await ctx.adapter.aql(
        data.query,
        data.bind_vars,
        batch_size=data.batch_size,
        cursor=data.cursor,
        explain=data.explain,
        allow_full_scan=ctx.settings.core.themis.aql.allow_full_scan,
    )
    return AqlResponse(
        result.results, result.count, result.has_more, result.next_cursor, result.explain
    )


ROUTES = [aql_query]
