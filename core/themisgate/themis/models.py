"""Values that cross the adapter boundary: what backends take and give back."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Document = dict[str, Any]
Direction = Literal["out", "in", "any"]


class Health(msgspec.Struct, frozen=True):
    status: str
    version: str
    backend: str
    uptime_seconds: float | None = None


class VectorItem(msgspec.Struct, frozen=True):
    """One vector to store: `key` within `collection`, and flat scalar `fields` kept beside it."""

    key: str
    vector: list[float]
    fields: dict[str, Any] = {}


class UpsertResult(msgspec.Struct, frozen=True):
    inserted: int
    errors: int
    dimension: int | None


class VectorHit(msgspec.Struct, frozen=True):
    """A nearest neighbour: cosine `distance = 1 - cos`, ascending; `score = 1 - distance`."""

    collection: str
    key: str
    distance: float

    @property
    def score(self) -> float:
        return 1.0 - self.distance


class IndexInfo(msgspec.Struct, frozen=True):
    dimension: int | None
    metric: str
    vector_count: int
    object_name: str = "documents"


class Edge(msgspec.Struct, frozen=True):
    """A directed edge between two vertex ids (document keys such as `users:alice`)."""

    id: str
    source: str
    target: str
    type: str | None = None
    weight: float | None = None
    properties: dict[str, Any] = {}


class TraversalQuery(msgspec.Struct, frozen=True):
    start: str
    max_depth: int = 1
    min_depth: int = 0
    direction: Direction = "out"
    edge_type: str | None = None


class Traversal(msgspec.Struct, frozen=True):
    """Vertices in BFS order (the start included when `min_depth == 0`), the edges walked, and
    one path (a list of edge ids from the start) per vertex reached."""

    start: str
    vertices: list[str]
    edges: list[Edge]
    paths: list[list[str]]
    depths: dict[str, int] = {}


class AqlResult(msgspec.Struct, frozen=True):
    """One page of an AQL query's results, decoded: whole documents as objects (the server
    sends them as JSON strings), projections and plain values as they are. `next_cursor`
    continues the query when `has_more`; `explain` is the backend's plan when asked for."""

    results: list[Any]
    count: int
    has_more: bool = False
    next_cursor: str | None = None
    explain: dict[str, Any] | None = None
