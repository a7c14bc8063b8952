"""What changed from v3 to v4, declared once, as data.

The v3 routes are translations: a request is brought forward through `CHAIN`, answered by
the current API's own operation, and its response brought back. The same declarations
give the `Link: rel="successor-version"` of every v3 route, the 410 that points to it
after the sunset, and the change list in the v3 OpenAPI document. When v5 replaces v4,
append a `VersionChange("v4", "v5", ...)` to `CHAIN`; nothing else here changes.
"""

from __future__ import annotations

from .changes import (
    DocumentSplit,
    FieldAdded,
    FieldDefaulted,
    FieldRenamed,
    FieldsNested,
    RouteMoved,
    VersionChange,
    successors,
)
from .models import DEFAULT_COLLECTION

V3_PREFIX = "/api/v3"
V4_PREFIX = "/api/v4"

V3_TO_V4 = VersionChange(
    previous="v3",
    version="v4",
    summary=(
        "v4 serves ThemisDB under /api/v4/themis, makes the collection explicit, returns "
        "whole documents with their collection and distance, and counts results."
    ),
    instructions=(
        RouteMoved(
            "search",
            method="POST",
            old="/api/v3/vector/search",
            new="/api/v4/themis/vectors/search",
        ),
        FieldDefaulted("search", field="collection", default=DEFAULT_COLLECTION),
        FieldAdded("search", side="request", field="vector"),
        FieldAdded("search", side="request", field="filters"),
        FieldAdded("search", side="request", field="explain"),
        FieldAdded("search", side="request", field="include_documents"),
        DocumentSplit("search", within="results"),
        FieldAdded("search", side="response", field="collection", within="results"),
        FieldAdded("search", side="response", field="distance", within="results"),
        FieldAdded("search", side="response", field="count"),
        FieldAdded("search", side="response", field="explain"),
        RouteMoved("aql", method="POST", old="/api/v3/aql/query", new="/api/v4/themis/aql/query"),
        FieldAdded("aql", side="request", field="batch_size"),
        FieldAdded("aql", side="request", field="cursor"),
        FieldAdded("aql", side="request", field="explain"),
        FieldAdded("aql", side="response", field="has_more"),
        FieldAdded("aql", side="response", field="next_cursor"),
        FieldAdded("aql", side="response", field="explain"),
        RouteMoved("stats", method="GET", old="/api/v3/stats", new="/api/v4/themis/stats"),
        FieldRenamed("stats", side="response", old="database", new="themis"),
        FieldsNested(
            "stats",
            side="response",
            into="adapter",
            fields=("query_count", "error_count", "avg_latency_ms"),
        ),
        RouteMoved("index", method="GET", old="/api/v3", new="/api"),
        RouteMoved("openapi", method="GET", old="/api/v3/openapi.json", new="/api/v4/openapi.json"),
        RouteMoved("docs", method="GET", old="/api/v3/docs", new="/api/v4/docs"),
    ),
)

# oldest first; the newest version of the chain is the one the core serves
CHAIN: tuple[VersionChange, ...] = (V3_TO_V4,)

# every v3 path → its current equivalent; other paths under /api/v3 point to the docs
SUCCESSORS: dict[str, str] = successors(CHAIN)
DEFAULT_SUCCESSOR = f"{V4_PREFIX}/docs"
