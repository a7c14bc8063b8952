"""The GraphQL object and input types. Fields holding documents resolve through the
request's `DocumentLoader`, so asking for them on many objects costs one batched call."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from themisgate.themis import Edge, ThemisError

from .context import context_of
from .ids import format_id, parse_id
from .loaders import Document


async def _result_document(root: VectorSearchResult, info: Info[Any, Any]) -> Document | None:
    if root.loaded:
        return root.document
    return await context_of(info).documents.load((root.collection, root.key))


async def _content(root: VectorSearchResult, info: Info[Any, Any]) -> str | None:
    document = await _result_document(root, info)
    if document is None:
        return None
    value = document.get(context_of(info).config.content_field)
    return value if isinstance(value, str) else None


async def _metadata(root: VectorSearchResult, info: Info[Any, Any]) -> JSON | None:
    document = await _result_document(root, info)
    if document is None:
        return None
    field = context_of(info).config.content_field
    return JSON({k: v for k, v in document.items() if k != field})


async def _properties(root: GraphNode, info: Info[Any, Any]) -> JSON | None:
    parsed = parse_id(root.id)
    if parsed is None:
        return None
    document = await context_of(info).documents.load(parsed)
    return None if document is None else JSON(document)


@strawberry.type(description="One nearest neighbour of a vector search, best first.")
class VectorSearchResult:
    document_id: strawberry.ID = strawberry.field(description="`collection:key`.")
    score: float = strawberry.field(description="1 - cosine distance; higher is closer.")
    content: str | None = strawberry.field(
        resolver=_content, description="The document's text (its `content_field`, default `text`)."
    )
    metadata: JSON | None = strawberry.field(
        resolver=_metadata, description="The document without its text; null if none is stored."
    )
    collection: strawberry.Private[str]
    key: strawberry.Private[str]
    # the document when the search already brought it (it does when content or metadata
    # is selected); otherwise the loader fetches it
    document: strawberry.Private[Document | None] = None
    loaded: strawberry.Private[bool] = False


@strawberry.type(description="A vertex reached by a traversal.")
class GraphNode:
    id: strawberry.ID = strawberry.field(description="The vertex id, `collection:key`.")
    label: str | None = strawberry.field(
        description="The vertex's collection (the part of the id before `:`)."
    )
    depth: int = strawberry.field(description="Hops from the start vertex.")
    properties: JSON | None = strawberry.field(
        resolver=_properties, description="The vertex's document; null if none is stored."
    )


@strawberry.type(description="A directed edge walked by a traversal.")
class GraphEdge:
    id: strawberry.ID
    from_node: strawberry.ID = strawberry.field(description="The source vertex id.")
    to_node: strawberry.ID = strawberry.field(description="The target vertex id.")
    relationship: str | None = strawberry.field(description="The edge's type.")
    weight: float | None
    properties: JSON = strawberry.field(description="The edge's own properties.")

    @classmethod
    def of(cls, edge: Edge) -> GraphEdge:
        return cls(
            id=strawberry.ID(edge.id),
            from_node=strawberry.ID(edge.source),
            to_node=strawberry.ID(edge.target),
            relationship=edge.type,
            weight=edge.weight,
            properties=JSON(dict(edge.properties)),
        )


@strawberry.type(description="Vertices reachable from a start vertex, in BFS order.")
class GraphTraversal:
    start_vertex: strawberry.ID
    nodes: list[GraphNode]
    edges: list[GraphEdge]


@strawberry.type(description="The ThemisDB adapter: reachable or not, and how it is doing.")
class AdapterStatus:
    name: str = strawberry.field(description="The backend: `embedded` or `http`.")
    available: bool
    version: str | None
    query_count: int = strawberry.field(description="Adapter operations since start-up.")
    avg_latency_ms: float = strawberry.field(description="Their mean duration.")


@strawberry.input(description="A text search in one collection.")
class VectorSearchInput:
    query: str = strawberry.field(description="The text; the server embeds it.")
    top_k: int = strawberry.field(default=5, description="How many results, at most.")
    collection: str = "documents"
    threshold: float | None = strawberry.field(
        default=None, description="Drop results scoring below it (-1 to 1)."
    )


def node(vertex: str, depth: int) -> GraphNode:
    parsed = parse_id(vertex)
    return GraphNode(id=strawberry.ID(vertex), label=parsed[0] if parsed else None, depth=depth)


def search_result(
    collection: str, key: str, score: float, document: Document | None, loaded: bool
) -> VectorSearchResult:
    return VectorSearchResult(
        document_id=strawberry.ID(format_id(collection, key)),
        score=score,
        collection=collection,
        key=key,
        document=document,
        loaded=loaded,
    )


async def adapter_status(info: Info[Any, Any]) -> AdapterStatus:
    adapter = context_of(info).app.adapter
    try:
        health = await adapter.health()
        available, version = health.status == "healthy", health.version
    except ThemisError:
        available, version = False, None
    stats = adapter.stats
    return AdapterStatus(
        name=adapter.name,
        available=available,
        version=version,
        query_count=stats.calls,
        avg_latency_ms=stats.avg_latency_ms,
    )
