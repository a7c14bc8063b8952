"""The one interface every ThemisDB backend implements.

Backends speak in collections and keys; the wire API's `table:pk` strings stay inside the
backend. Everything above a backend (the adapter, the REST API, plugins) sees only this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from .models import (
    AqlResult,
    Document,
    Edge,
    Health,
    IndexInfo,
    Traversal,
    TraversalQuery,
    UpsertResult,
    VectorHit,
    VectorItem,
)


@runtime_checkable
class ThemisBackend(Protocol):
    """A way to reach ThemisDB: `embedded` (in process, SQLite) or `http` (the wire API)."""

    name: str

    async def start(self) -> None:
        """Open pools and files. Called once, in the app's lifespan."""

    async def close(self) -> None:
        """Release everything `start` opened; flush what must not be lost."""

    async def health(self) -> Health: ...

    async def stats(self) -> dict[str, Any]: ...

    async def capabilities(self) -> dict[str, Any]: ...

    async def put_document(self, collection: str, key: str, document: Document) -> None: ...

    async def get_document(self, collection: str, key: str) -> Document | None: ...

    async def get_documents(self, collection: str, keys: Sequence[str]) -> Mapping[str, Document]:
        """Documents found, by key; missing keys are absent from the mapping."""

    async def delete_document(self, collection: str, key: str) -> None: ...

    async def upsert_vectors(
        self, collection: str, items: Sequence[VectorItem]
    ) -> UpsertResult: ...

    async def delete_vectors(self, collection: str, keys: Sequence[str]) -> int: ...

    async def search_vectors(
        self, vector: Sequence[float], k: int, collection: str | None = None
    ) -> list[VectorHit]:
        """The `k` nearest vectors (cosine), nearest first, restricted to `collection` if given.
        `k` must be at least 1."""

    async def index_info(self) -> IndexInfo: ...

    async def add_edge(self, edge: Edge) -> None: ...

    async def delete_edge(self, edge_id: str) -> None: ...

    async def traverse(self, query: TraversalQuery) -> Traversal: ...

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
        """Run a read-only AQL query with `@name` / `@@collection` bind variables. Without
        `batch_size` and `cursor`, every result; otherwise one page of `batch_size` (or the
        cursor's) and a `next_cursor` while `has_more`. The query and binds must be sent
        again with a cursor. `allow_full_scan` lets FILTER/SORT use unindexed fields (the
        server's rule). Raises `AqlError` subclasses (all `ThemisBadRequest`) for bad
        queries, binds and cursors."""


@runtime_checkable
class Embedder(Protocol):
    """Turns text into vectors for search by text. Chosen by the `themisgate_embedder` hook."""

    name: str
    dimension: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One L2-normalised vector of `dimension` floats per text, in order.
        Raises `EmbedderUnavailable` when the service behind it is down."""

    async def close(self) -> None: ...
