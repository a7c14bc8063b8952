"""The root types: what a client can ask (`Query`), change (`Mutation`) and follow
(`Subscription`). Each resolver is a thin translation onto `ctx.adapter`, like the v4
REST handlers; bad arguments are `BAD_USER_INPUT` errors naming the argument."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from themisgate import SearchQuery, UpsertEntry
from themisgate.themis import TraversalQuery

from .context import context_of, require_scope
from .errors import user_error
from .ids import KEY, format_id, require_collection, require_id
from .types import (
    AdapterStatus,
    GraphEdge,
    GraphTraversal,
    VectorSearchInput,
    VectorSearchResult,
    adapter_status,
    node,
    search_result,
)

MAX_QUERY_CHARS = 32_768
MAX_VERTEX_CHARS = 640
MAX_TRAVERSAL_DEPTH = 10
DOCUMENT_FIELDS = frozenset({"content", "metadata"})


def _selects(selections: Iterable[Selection], names: frozenset[str]) -> bool:
    """Whether any of `names` is selected here, fragments included."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name in names:
                return True
        elif _selects(selection.selections, names):
            return True
    return False


async def vector_search(
    info: Info[Any, Any], input: VectorSearchInput
) -> list[VectorSearchResult] | None:
    context = context_of(info)
    limit = context.config.max_top_k
    if not 1 <= input.top_k <= limit:
        raise user_error(f"topK must be between 1 and {limit}; got {input.top_k}")
    if not input.query or len(input.query) > MAX_QUERY_CHARS:
        raise user_error(f"query must be 1 to {MAX_QUERY_CHARS} characters")
    if input.threshold is not None and not -1.0 <= input.threshold <= 1.0:
        raise user_error(f"threshold must be between -1 and 1; got {input.threshold}")
    collection = require_collection(input.collection)
    # documents come with the search when a result field needs them, else not at all
    with_documents = _selects(info.selected_fields[0].selections, DOCUMENT_FIELDS)
    outcome = await context.app.adapter.search(
        SearchQuery(
            collection=collection,
            query=input.query,
            top_k=input.top_k,
            threshold=input.threshold,
            include_documents=with_documents,
        )
    )
    return [
        search_result(m.collection, m.id, m.score, m.document, with_documents)
        for m in outcome.results
    ]


async def graph_traverse(
    info: Info[Any, Any],
    start_vertex: strawberry.ID,
    edge_collection: str | None = None,
    max_depth: int = 3,
) -> GraphTraversal | None:
    if not 0 <= max_depth <= MAX_TRAVERSAL_DEPTH:
        raise user_error(f"maxDepth must be between 0 and {MAX_TRAVERSAL_DEPTH}")
    if not start_vertex or len(start_vertex) > MAX_VERTEX_CHARS:
        raise user_error(f"startVertex must be 1 to {MAX_VERTEX_CHARS} characters")
    traversal = await context_of(info).app.adapter.traverse(
        TraversalQuery(start=start_vertex, max_depth=max_depth, edge_type=edge_collection)
    )
    depths = traversal.depths
    return GraphTraversal(
        start_vertex=strawberry.ID(traversal.start),
        nodes=[node(v, depths.get(v, 0)) for v in traversal.vertices],
        edges=[GraphEdge.of(e) for e in traversal.edges],
    )


async def document(info: Info[Any, Any], id: strawberry.ID) -> JSON | None:
    found = await context_of(info).documents.load(require_id(id))
    return None if found is None else JSON(found)


async def insert_document(info: Info[Any, Any], collection: str, document: JSON) -> str | None:
    context = require_scope(info, "write")
    require_collection(collection)
    if not isinstance(document, dict):
        raise user_error("document must be a JSON object")
    key = document.get("_key")
    if key is None:
        key = uuid.uuid4().hex
    elif not isinstance(key, str) or not KEY.match(key):
        raise user_error("_key must be 1-512 of [A-Za-z0-9_.@-], not starting with . @ -")
    adapter = context.app.adapter
    text = document.get(context.config.content_field)
    if isinstance(text, str) and text:
        await adapter.upsert(collection, [UpsertEntry(key=key, text=text, document=document)])
    else:
        await adapter.put_document(collection, key, document)
    context.documents.prime((collection, key), document, force=True)
    return format_id(collection, key)


async def watch_adapter_status(info: Info[Any, Any]) -> AsyncGenerator[AdapterStatus, None]:
    interval = context_of(info).config.status_interval
    while True:
        yield await adapter_status(info)
        await asyncio.sleep(interval)


@strawberry.type
class Query:
    # nullable where a dependency can fail, so one failing field leaves the others' data
    vector_search: list[VectorSearchResult] | None = strawberry.field(
        resolver=vector_search, description="The documents nearest to a text, best first."
    )
    graph_traverse: GraphTraversal | None = strawberry.field(
        resolver=graph_traverse,
        description="Vertices reachable from `startVertex` along outbound edges, within "
        "`maxDepth` hops; `edgeCollection` keeps only edges of that type.",
    )
    adapter_status: AdapterStatus = strawberry.field(
        resolver=adapter_status, description="The ThemisDB adapter's health and counters."
    )
    document: JSON | None = strawberry.field(
        resolver=document,
        description="One document by its id, `collection:key`; null if absent.",
    )


@strawberry.type
class Mutation:
    insert_document: str | None = strawberry.mutation(
        resolver=insert_document,
        description="Store a JSON object in `collection` and return its id (`collection:key`). "
        "The key is the object's `_key` if it has one, else a new one. An object with a text "
        "field (`content_field`, default `text`) is embedded too, so searches find it. "
        "Needs the `write` scope.",
    )


@strawberry.type
class Subscription:
    adapter_status: AsyncGenerator[AdapterStatus, None] = strawberry.subscription(
        resolver=watch_adapter_status,
        description="The adapter's status now, then again every `status_interval` seconds "
        "(a server setting; 5 by default).",
    )
