"""The v3 request and response bodies: the contract v3 clients were written against.

They are declared on their own rather than derived from v4's, so a change to v4 cannot
silently change what v3 accepts or answers: a v4 change that reaches v3 without a
declaration in `versions.py` fails the translation (and the tests) instead of leaking.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

DEFAULT_COLLECTION = "documents"

Collection = Annotated[
    str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=32_768)]


class SearchRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The `top_k` documents nearest to the text `query` in `collection`."""

    query: Text
    top_k: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    collection: Collection = DEFAULT_COLLECTION
    threshold: Annotated[float, msgspec.Meta(ge=-1.0, le=1.0)] | None = None


class SearchHit(msgspec.Struct, forbid_unknown_fields=True):
    """`content` is the document's `text` field (null when it has none); `metadata` holds
    its other fields."""

    id: str
    score: float
    content: str | None
    metadata: dict[str, Any]


class SearchResponse(msgspec.Struct, forbid_unknown_fields=True):
    results: list[SearchHit]


class AqlRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A read-only AQL query; `bind_vars` holds the values of its `@name` variables."""

    query: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
    bind_vars: dict[str, Any] = {}


class AqlResponse(msgspec.Struct, forbid_unknown_fields=True):
    results: list[Any]
    count: int


class StatsResponse(msgspec.Struct, forbid_unknown_fields=True):
    """ThemisDB's statistics (`database`) and this server's adapter counters."""

    backend: str
    database: dict[str, Any]
    query_count: int
    error_count: int
    avg_latency_ms: float


class IndexResponse(msgspec.Struct):
    version: str
    status: str
    sunset_date: dt.date
    migration_guide: str
    new_version: str
