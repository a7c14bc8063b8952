"""The per-request document loader: every `document(id:)`, `GraphNode.properties` and
`VectorSearchResult.content`/`metadata` asked for in one tick of the event loop becomes
one `ctx.adapter.get_documents(collection, keys)` call per collection, instead of one
call per document (the N+1 problem)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from themisgate import ThemisAdapter

DocumentKey = tuple[str, str]  # (collection, key)
Document = dict[str, Any]
MAX_BATCH = 1000  # what the v4 batch-get accepts; larger batches are split


class DocumentLoader(DataLoader[DocumentKey, Document | None]):
    """`await loader.load((collection, key))` → the document, or None when there is none.

    With `cache=True` (one HTTP request) a document asked for twice is loaded once; a
    WebSocket connection lives long, so there it batches without caching across ticks.
    A collection whose load fails fails only the fields that wanted it."""

    def __init__(self, adapter: ThemisAdapter, *, cache: bool = True) -> None:
        self._adapter = adapter
        super().__init__(load_fn=self._load_batch, cache=cache, max_batch_size=MAX_BATCH)

    async def _load_batch(self, keys: Sequence[DocumentKey]) -> list[Any]:
        wanted: dict[str, dict[str, None]] = {}
        for collection, key in keys:
            wanted.setdefault(collection, {})[key] = None
        collections = list(wanted)
        answers = await asyncio.gather(
            *(self._adapter.get_documents(c, list(wanted[c])) for c in collections),
            return_exceptions=True,
        )
        by_collection = dict(zip(collections, answers, strict=True))
        results: list[Any] = []
        for collection, key in keys:
            found = by_collection[collection]
            results.append(found if isinstance(found, BaseException) else found.get(key))
        return results
