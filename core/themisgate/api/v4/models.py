"""Request and response bodies of the v4 API. Limits live here, so OpenAPI shows them and
a request outside them is a 422 problem naming the field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

Collection = Annotated[
    str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
]
# No ':' in keys: on the wire a vector of `coll:key` is stored as the entity
# `documents:coll:key`, which a document keyed `coll:key` in a collection named `documents`
# would overwrite.
Key = Annotated[
    str, msgspec.Meta(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*$")
]
Scalar = str | int | float | bool | None
Vector = Annotated[list[float], msgspec.Meta(min_length=1, max_length=8192)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=32_768)]


class SearchRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Nearest documents to a text (embedded by the server) or a vector, in one collection."""

    collection: Collection
    query: Text | None = None
    vector: Vector | None = None
    top_k: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    threshold: Annotated[float, msgspec.Meta(ge=-1.0, le=1.0)] | None = None
    filters: dict[str, Scalar] = {}
    explain: bool = False
    include_documents: bool = True


class SearchResult(msgspec.Struct):
    id: str
    collection: str
    score: float
    distance: float
    document: dict[str, Any] | None = None


class ExplainStep(msgspec.Struct):
    step: str
    ms: float
    detail: dict[str, Any] = {}


class SearchResponse(msgspec.Struct):
    results: list[SearchResult]
    count: int
    explain: list[ExplainStep] | None = None


class DocumentResponse(msgspec.Struct):
    collection: str
    key: str
    document: dict[str, Any]


class StoredResponse(msgspec.Struct):
    collection: str
    key: str


class BatchGetRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    collection: Collection
    keys: Annotated[list[Key], msgspec.Meta(min_length=1, max_length=1000)]


class BatchGetResponse(msgspec.Struct):
    collection: str
    documents: dict[str, dict[str, Any]]
    missing: list[str]


class VectorEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One item: give `vector`, or `text` to embed; `document` is stored beside it (with
    `text` alone, the document is `{"text": text}`)."""

    key: Key
    vector: Vector | None = None
    text: Text | None = None
    document: dict[str, Any] | None = None


class UpsertRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    collection: Collection
    items: Annotated[list[VectorEntry], msgspec.Meta(min_length=1, max_length=1000)]


class UpsertResponse(msgspec.Struct):
    collection: str
    inserted: int
    errors: int
    dimension: int | None


class EdgeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=640)] = msgspec.field(name="from")
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=640)] = msgspec.field(name="to")
    id: Key | None = None
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    weight: float | None = None
    properties: dict[str, Scalar] = {}


class EdgeResponse(msgspec.Struct):
    id: str
    source: str = msgspec.field(name="from")
    target: str = msgspec.field(name="to")
    type: str | None = None
    weight: float | None = None
    properties: dict[str, Any] = {}


class TraverseRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    start: Annotated[str, msgspec.Meta(min_length=1, max_length=640)]
    direction: Literal["out", "in", "any"] = "out"
    min_depth: Annotated[int, msgspec.Meta(ge=0, le=10)] = 0
    max_depth: Annotated[int, msgspec.Meta(ge=0, le=10)] = 1
    edge_type: str | None = None


class TraverseResponse(msgspec.Struct):
    start: str
    vertices: list[str]
    edges: list[EdgeResponse]
    paths: list[list[str]]
    depths: dict[str, int]


class AdapterStatus(msgspec.Struct):
    name: str
    available: bool
    version: str | None
    query_count: int
    error_count: int
    avg_latency_ms: float
    detail: str = ""


class AqlRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A read-only AQL query. `bind_vars` holds `@name` values and, under `"@name"`,
    `@@name` collections. With `batch_size` (or `cursor`) one page is answered; send the
    same query and binds with `cursor` for the next."""

    query: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
    bind_vars: dict[str, Any] = {}
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    cursor: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)] | None = None
    explain: bool = False


class AqlResponse(msgspec.Struct, omit_defaults=True):
    results: list[Any]
    count: int
    has_more: bool
    next_cursor: str | None
    explain: dict[str, Any] | None = None
