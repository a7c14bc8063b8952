"""The v4 REST API over the ThemisDB adapter, mounted under `/api/v4`.

| route | what |
|---|---|
| `POST /api/v4/themis/vectors/search` | nearest documents to a text or vector (JSON or SSE) |
| `POST /api/v4/themis/vectors` | store vectors (or texts to embed) with their documents |
| `PUT/GET/DELETE /api/v4/themis/documents/{collection}/{key}` | one document |
| `POST /api/v4/themis/documents/batch-get` | many documents of one collection |
| `POST /api/v4/themis/graph/edges`, `DELETE …/edges/{id}` | edges |
| `POST /api/v4/themis/graph/traverse` | traversal |
| `GET /api/v4/themis/stats`, `/themis/capabilities`, `/adapters/status` | facts |
"""

from litestar import Router
from litestar.types import ControllerRouterHandler

from . import documents, graph, search, status, vectors

V4_PREFIX = "/api/v4"

ROUTES: list[ControllerRouterHandler] = [
    Router(
        V4_PREFIX,
        route_handlers=[
            *search.ROUTES,
            *vectors.ROUTES,
            *documents.ROUTES,
            *graph.ROUTES,
            *status.ROUTES,
        ],
    )
]
