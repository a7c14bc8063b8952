"""Vector search: JSON, or one Server-Sent Event per result when the client asks for
`text/event-stream`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import msgspec
from litestar import Request, post
from litestar.params import JSONBody
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from ...adapter import SearchQuery
from ...context import AppContext, Ctx
from ..problem_docs import problem_responses
from .models import ExplainStep, SearchRequest, SearchResponse, SearchResult

ERRORS = problem_responses()

SSE = "text/event-stream"


class EventStream(ServerSentEvent):
    """An SSE response from a handler whose other answer is JSON: Litestar would otherwise
    label the stream with the handler's JSON media type."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["media_type"] = SSE
        return super().to_asgi_response(*args, **kwargs)


def _query(data: SearchRequest) -> SearchQuery:
    return SearchQuery(
        collection=data.collection,
        query=data.query,
        vector=data.vector,
        top_k=data.top_k,
        threshold=data.threshold,
        filters=data.filters,
        explain=data.explain,
        include_documents=data.include_documents,
    )


@post(
    "/themis/vectors/search",
    status_code=200,
    opt={"scope": "read"},
    tags=["vectors"],
    responses=ERRORS,
)
async def vector_search(
    ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[SearchRequest]
) -> SearchResponse:
    """The `top_k` nearest documents to `query` (text) or `vector` in `collection`, best
    first; `filters` keep only documents whose fields equal the given values; `threshold`
    drops results scoring below it; `explain` reports each step's time.

    With `Accept: text/event-stream` the results are streamed as Server-Sent Events: one
    `result` event per result (`{"index", "total", "result"}`), then `complete`
    (`{"count", "explain"?}`)."""
    response = await run_search(ctx, data)
    if SSE in request.headers.get("accept", ""):
        # Litestar sends any Response as it is; the JSON annotation keeps the OpenAPI
        # schema a single SearchResponse (the stream is described in the docstring).
        return cast(SearchResponse, EventStream(_events(response.results, response.explain)))
    return response


async def run_search(ctx: AppContext, data: SearchRequest) -> SearchResponse:
    """The v4 search without HTTP: what the handler above answers, and what other surfaces
    (the v3 translation, GraphQL, WebSocket) call to answer exactly alike."""
    outcome = await ctx.adapter.search(_query(data))
    results = [
        SearchResult(m.id, m.collection, m.score, m.distance, m.document) for m in outcome.results
    ]
    explain = None
    if outcome.explain is not None:
        explain = [ExplainStep(s.step, s.ms, s.detail) for s in outcome.explain]
    return SearchResponse(results, len(results), explain)


async def _events(
    results: list[SearchResult], explain: list[ExplainStep] | None
) -> AsyncIterator[ServerSentEventMessage]:
    total = len(results)
    for index, result in enumerate(results):
        payload = {"index": index, "total": total, "result": msgspec.to_builtins(result)}
        yield ServerSentEventMessage(
            data=msgspec.json.encode(payload).decode(), event="result", id=str(index)
        )
    done: dict[str, Any] = {"count": total}
    if explain is not None:
        done["explain"] = msgspec.to_builtins(explain)
    yield ServerSentEventMessage(data=msgspec.json.encode(done).decode(), event="complete")


ROUTES = [vector_search]
