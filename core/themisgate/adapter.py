"""`ThemisAdapter`: what the API and plugins use to reach ThemisDB, whichever backend.

It adds what no backend does alone: search by text through the embedder, equality filters
on document fields, a score threshold, `explain` timings, documents stored beside their
vectors, and the `themisgate_adapter_call` observation around every operation (how metrics
and tracing see ThemisDB without touching it). With no observer plugin, observing costs a
shared no-op context manager.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import msgspec

from .themis.aql import AqlError, collection_of, parse
from .themis.errors import ThemisBadRequest
from .themis.models import (
    AqlResult,
    Document,
    Edge,
    Health,
    Traversal,
    TraversalQuery,
    UpsertResult,
    VectorHit,
    VectorItem,
)
from .themis.protocol import Embedder, ThemisBackend

Observer = Callable[[str, dict[str, Any]], AbstractContextManager[Any]]
Scalar = str | int | float | bool | None


class SearchQuery(msgspec.Struct, frozen=True, kw_only=True):
    collection: str
    top_k: int = 10
    query: str | None = None
    vector: list[float] | None = None
    threshold: float | None = None
    filters: dict[str, Scalar] = {}
    explain: bool = False
    include_documents: bool = True


class SearchMatch(msgspec.Struct, frozen=True):
    id: str
    collection: str
    score: float
    distance: float
    document: Document | None = None


class ExplainStep(msgspec.Struct, frozen=True):
    step: str
    ms: float
    detail: dict[str, Any] = {}


class SearchOutcome(msgspec.Struct, frozen=True):
    results: list[SearchMatch]
    explain: list[ExplainStep] | None = None


class UpsertEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One item to store: its vector, or a text to embed, and optionally its document."""

    key: str
    vector: list[float] | None = None
    text: str | None = None
    document: Document | None = None


class AdapterStats(msgspec.Struct):
    calls: int = 0
    errors: int = 0
    total_seconds: float = 0.0

    @property
    def avg_latency_ms(self) -> float:
        return round(self.total_seconds / self.calls * 1000, 3) if self.calls else 0.0


def flat_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar fields of a document: what the server keeps beside a vector."""
    return {k: v for k, v in document.items() if isinstance(v, str | int | float | bool)}


class ThemisAdapter:
    def __init__(
        self,
        backend: ThemisBackend,
        embedder: Embedder,
        *,
        observer: Observer | None = None,
        overfetch_factor: int = 4,
    ) -> None:
        self.backend = backend
        self.embedder = embedder
        self.name = backend.name
        self.stats = AdapterStats()
        self._observer = observer
        self._overfetch = max(1, overfetch_factor)

    @contextlib.contextmanager
    def observe(self, operation: str, attributes: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Count, time and let plugins observe one operation. Yields `attributes` so the
        caller can add results (`results.count`) before the plugins see the exit."""
        attributes["adapter"] = self.name
        started = time.perf_counter()
        stats = self.stats
        try:
            if self._observer is None:
                yield attributes
            else:
                with self._observer(operation, attributes):
                    yield attributes
        except BaseException:
            stats.errors += 1
            raise
        finally:
            stats.calls += 1
            stats.total_seconds += time.perf_counter() - started

    # --- lifecycle and facts --------------------------------------------------------------

    async def start(self) -> None:
        await self.backend.start()

    async def close(self) -> None:
        try:
            await self.backend.close()
        finally:
            await self.embedder.close()

    async def health(self) -> Health:
        with self.observe("health", {}):
            return await self.backend.health()

    async def server_stats(self) -> dict[str, Any]:
        with self.observe("stats", {}):
            return await self.backend.stats()

    async def capabilities(self) -> dict[str, Any]:
        with self.observe("capabilities", {}):
            return await self.backend.capabilities()

    # --- documents -------------------------------------------------------------------------

    async def put_document(self, collection: str, key: str, document: Document) -> None:
        with self.observe("put_document", {"db.collection": collection}):
            await self.backend.put_document(collection, key, document)

    async def get_document(self, collection: str, key: str) -> Document | None:
        with self.observe("get_document", {"db.collection": collection}) as attrs:
            document = await self.backend.get_document(collection, key)
            attrs["results.count"] = 0 if document is None else 1
            return document

    async def get_documents(self, collection: str, keys: Sequence[str]) -> Mapping[str, Document]:
        with self.observe("get_documents", {"db.collection": collection}) as attrs:
            found = await self.backend.get_documents(collection, keys)
            attrs["results.count"] = len(found)
            return found

    async def delete_document(self, collection: str, key: str) -> None:
        with self.observe("delete_document", {"db.collection": collection}):
            await self.backend.delete_document(collection, key)
            await self.backend.delete_vectors(collection, [key])

    # --- vectors ---------------------------------------------------------------------------

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        with self.observe("embed", {"embedder": self.embedder.name}) as attrs:
            vectors = await self.embedder.embed(texts)
            attrs["results.count"] = len(vectors)
            return vectors

    async def upsert(self, collection: str, entries: Sequence[UpsertEntry]) -> UpsertResult:
        """Store documents and vectors; texts without a vector are embedded in one batch."""
        to_embed = [e for e in entries if e.vector is None]
        for entry in to_embed:
            if entry.text is None:
                raise ThemisBadRequest(f"item {entry.key!r} needs a vector or a text to embed")
        embedded = await self.embed([e.text or "" for e in to_embed]) if to_embed else []
        vectors = dict(zip((e.key for e in to_embed), embedded, strict=True))
        items = []
        with self.observe("upsert_vectors", {"db.collection": collection}) as attrs:
            for entry in entries:
                document = entry.document
                if document is None and entry.text is not None:
                    document = {"text": entry.text}
                if document is not None:
                    await self.backend.put_document(collection, entry.key, document)
                vector = entry.vector if entry.vector is not None else vectors[entry.key]
                items.append(VectorItem(entry.key, vector, flat_fields(document or {})))
            result = await self.backend.upsert_vectors(collection, items)
            attrs["results.count"] = result.inserted
            return result

    async def search(self, query: SearchQuery) -> SearchOutcome:
        steps: list[ExplainStep] = []
        clock = time.perf_counter
        vector = query.vector
        if vector is None:
            if not query.query:
                raise ThemisBadRequest("a search needs `query` (text) or `vector`")
            started = clock()
            vector = (await self.embed([query.query]))[0]
            steps.append(
                ExplainStep(
                    "embed",
                    _ms(started),
                    {"embedder": self.embedder.name, "dimension": len(vector)},
                )
            )
        needs_documents = query.include_documents or bool(query.filters)
        fetch_k = query.top_k * self._overfetch if query.filters else query.top_k
        attributes = {"db.collection": query.collection, "vector.top_k": query.top_k}
        with self.observe("vector_search", attributes) as attrs:
            started = clock()
            hits = await self.backend.search_vectors(vector, fetch_k, query.collection)
            steps.append(
                ExplainStep("vector_search", _ms(started), {"k": fetch_k, "candidates": len(hits)})
            )
            if query.threshold is not None:
                hits = [h for h in hits if h.score >= query.threshold]
            documents: Mapping[str, Document] = {}
            if needs_documents and hits:
                started = clock()
                documents = await self.backend.get_documents(
                    query.collection, [h.key for h in hits]
                )
                steps.append(
                    ExplainStep("load_documents", _ms(started), {"loaded": len(documents)})
                )
            if query.filters:
                started = clock()
                before = len(hits)
                hits = [h for h in hits if _matches(documents.get(h.key), query.filters)]
                steps.append(
                    ExplainStep(
                        "filter",
                        _ms(started),
                        {"filters": dict(query.filters), "kept": len(hits), "of": before},
                    )
                )
            results = [
                _match(h, documents.get(h.key) if query.include_documents else None)
                for h in hits[: query.top_k]
            ]
            attrs["results.count"] = len(results)
        return SearchOutcome(results, steps if query.explain else None)

    # --- graph -------------------------------------------------------------------------------

    async def add_edge(self, edge: Edge) -> None:
        with self.observe("add_edge", {"graph.edge_type": edge.type}):
            await self.backend.add_edge(edge)

    async def delete_edge(self, edge_id: str) -> None:
        with self.observe("delete_edge", {}):
            await self.backend.delete_edge(edge_id)

    async def traverse(self, query: TraversalQuery) -> Traversal:
        attributes = {"graph.start": query.start, "graph.max_depth": query.max_depth}
        with self.observe("graph_traverse", attributes) as attrs:
            result = await self.backend.traverse(query)
            attrs["results.count"] = len(result.vertices)
            return result

    # --- AQL -------------------------------------------------------------------------------

    async def aql(
        self,
        query: str,
        bind_vars: Mapping[str, Any] | None = None,
        *,
        batch_size: int | None = None,
        cursor: str | None = None,
        explain: bool = False,
        allow_full_scan: bool = False,
    ) -> AqlResult:
        """A read-only AQL query with bind variables, on either backend (see
        `ThemisBackend.aql`); observed as `aql_query` with `db.collection` (the first FOR's
        collection, `graph` for a traversal) when the query names it."""
        attributes: dict[str, Any] = {}
        try:
            collection = collection_of(parse(query), bind_vars)
        except AqlError:
            collection = None  # the backend raises the same error, observed as a failure
        if collection is not None:
            attributes["db.collection"] = collection
        with self.observe("aql_query", attributes) as attrs:
            result = await self.backend.aql(
                query,
                bind_vars,
                batch_size=batch_size,
                cursor=cursor,
                explain=explain,
                allow_full_scan=allow_full_scan,
            )
            attrs["results.count"] = result.count
            return result


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _matches(document: Document | None, filters: Mapping[str, Scalar]) -> bool:
    if document is None:
        return False
    return all(document.get(field) == value for field, value in filters.items())


def _match(hit: VectorHit, document: Document | None) -> SearchMatch:
    return SearchMatch(
        hit.key, hit.collection, round(hit.score, 6), round(hit.distance, 6), document
    )
