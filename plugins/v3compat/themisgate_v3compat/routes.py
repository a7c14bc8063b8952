"""The v3 routes: each data route is one line handing its v3 body to a translated
`Endpoint`; the index, the OpenAPI document and the docs page describe v3 itself.

Handlers are plain functions turned into route handlers by `api_router`, because they are
registered twice: on the app, left out of its (v4) OpenAPI document, and on a throwaway
app that generates the v3 document (`openapi.py`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Response, Router, get, post
from litestar.datastructures import ResponseHeader
from litestar.enums import OpenAPIMediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from themisgate import AppContext, Ctx
from themisgate.api.v4 import models as v4
from themisgate.api.v4 import problem_responses, read_stats, run_aql, run_search

from .endpoints import Endpoint
from .middleware import GATE_OPT
from .models import (
    AqlRequest,
    AqlResponse,
    IndexResponse,
    SearchRequest,
    SearchResponse,
    StatsResponse,
)
from .state import state_of
from .versions import V3_PREFIX, V4_PREFIX


async def _stats(ctx: AppContext, _: None) -> dict[str, Any]:
    return await read_stats(ctx)


SEARCH = Endpoint("search", operation=run_search, request=v4.SearchRequest, answer=SearchResponse)
AQL = Endpoint("aql", operation=run_aql, request=v4.AqlRequest, answer=AqlResponse)
STATS = Endpoint("stats", operation=_stats, request=None, answer=StatsResponse)


async def vector_search(ctx: Ctx, data: JSONBody[SearchRequest]) -> SearchResponse:
    """The `top_k` documents nearest to the text `query` in `collection` (default
    `documents`), best first; `threshold` drops results scoring below it.

    Deprecated: use `POST /api/v4/themis/vectors/search`."""
    return await SEARCH(ctx, data)


async def aql_query(ctx: Ctx, data: JSONBody[AqlRequest]) -> AqlResponse:
    """Run a read-only AQL query; `bind_vars` are substituted as literals.

    Deprecated: use `POST /api/v4/themis/aql/query`."""
    return await AQL(ctx, data)


async def stats(ctx: Ctx) -> StatsResponse:
    """ThemisDB's statistics and this server's adapter counters.

    Deprecated: use `GET /api/v4/themis/stats`."""
    return await STATS(ctx)


async def index(ctx: Ctx) -> IndexResponse:
    """What v3 is, that it is deprecated, when it goes away and where to go instead."""
    state = state_of(ctx)
    return IndexResponse(
        version="v3",
        status="deprecated",
        sunset_date=state.timeline.sunset_date,
        migration_guide=state.config.migration_guide,
        new_version=f"{V4_PREFIX}/",
    )


async def openapi_document(ctx: Ctx) -> Response[bytes]:
    return Response(state_of(ctx).openapi_json, media_type=OpenAPIMediaType.OPENAPI_JSON)


async def docs_page(ctx: Ctx) -> Response[bytes]:
    return Response(state_of(ctx).docs_html, media_type="text/html; charset=utf-8")


# documented on every v3 operation; added by the signals middleware
SIGNAL_HEADERS = [
    ResponseHeader(
        name="Deprecation",
        documentation_only=True,
        description="RFC 9745: when v3 was deprecated, as `@<unix seconds>`.",
    ),
    ResponseHeader(
        name="Sunset",
        documentation_only=True,
        description="RFC 8594: when v3 stops answering, as an HTTP-date.",
    ),
    ResponseHeader(
        name="Link",
        documentation_only=True,
        description='The v4 equivalent (`rel="successor-version"`) and the migration guide '
        '(`rel="deprecation"`, `rel="sunset"`).',
    ),
    ResponseHeader(name="X-API-Deprecation", documentation_only=True, description="`true`."),
    ResponseHeader(
        name="X-API-Sunset-Date",
        documentation_only=True,
        description="The sunset date, `YYYY-MM-DD`.",
    ),
    ResponseHeader(
        name="X-API-Sunset-Days",
        documentation_only=True,
        description="Whole days left before the sunset, once fewer than 90 (configurable).",
    ),
]


_DESCRIPTIONS = {
    410: "v3 is past its sunset; the problem names the v4 route (`successor`)",
}


def _errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The core's problem responses, with what they mean on v3 where that differs."""
    errors = problem_responses(*statuses)
    for status, spec in errors.items():
        if status in _DESCRIPTIONS:
            errors[status] = dataclasses.replace(spec, description=_DESCRIPTIONS[status])
    return errors


def api_router(in_schema: bool) -> Router:
    """The v3 API: data routes and the index, each marked deprecated."""
    common: dict[str, Any] = {
        "deprecated": True,
        "include_in_schema": in_schema,
        "response_headers": SIGNAL_HEADERS,
    }
    data_errors = _errors(400, 401, 403, 410, 413, 422, 429, 502, 503)
    handlers: list[HTTPRouteHandler] = [
        post(
            "/vector/search",
            status_code=200,
            opt={"scope": "read"},
            tags=["vectors"],
            operation_id="v3VectorSearch",
            responses=data_errors,
            **common,
        )(vector_search),
        post(
            "/aql/query",
            status_code=200,
            opt={"scope": "read"},
            tags=["aql"],
            operation_id="v3AqlQuery",
            responses=data_errors,
            **common,
        )(aql_query),
        get(
            "/stats",
            opt={"scope": "read"},
            tags=["status"],
            operation_id="v3Stats",
            responses=_errors(401, 403, 410, 429, 502, 503),
            **common,
        )(stats),
        get(
            "/",
            tags=["status"],
            operation_id="v3Index",
            responses=_errors(410),
            **common,
        )(index),
    ]
    return Router(V3_PREFIX, route_handlers=handlers, opt={GATE_OPT: True})


def docs_router() -> Router:
    """The v3 OpenAPI document and its docs page: outside the gate, so they keep
    explaining v3 after its sunset."""
    return Router(
        V3_PREFIX,
        route_handlers=[
            get("/openapi.json", include_in_schema=False)(openapi_document),
            get("/docs", include_in_schema=False)(docs_page),
        ],
    )


def v3_routes() -> list[Router]:
    return [api_router(in_schema=False), docs_router()]
