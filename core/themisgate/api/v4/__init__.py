"""The v4 REST API over the ThemisDB adapter, mounted under `/api/v4`.

| route | what |
|---|---|
| `POST /api/v4/themis/vectors/search` | nearest documents to a text or vector (JSON or SSE) |
| `POST /api/v4/themis/vectors` | store vectors (or texts to embed) with their documents |
| `PUT/GET/DELETE /api/v4/themis/documents/{collection}/{key}` | one document |
| `POST /api/v4/themis/documents/batch-get` | many documents of one collection |
| `POST /api/v4/themis/graph/edges`, `DELETE …/edges/{id}` | edges |
| `POST /api/v4/themis/graph/traverse` | traversal |
| `POST /api/v4/themis/aql/query` | read-only AQL with bind variables and cursors |
| `GET /api/v4/themis/stats`, `/themis/capabilities`, `/adapters/status` | facts |

Other surfaces (the v3 translation, GraphQL, WebSocket) answer exactly like v4 by calling
the operations re-exported here with the request Structs of `.models`, rather than the
adapter directly; `problem_responses` documents their errors in an OpenAPI document.
"""

from litestar import Router
from litestar.types import ControllerRouterHandler

from ..problem_docs import problem_responses
from . import aql, documents, graph, search, status, vectors
from .aql import run_aql
from .search import run_search
from .status import read_stats

__all__ = ["ROUTES", "V4_PREFIX", "problem_responses", "read_stats", "run_aql", "run_search"]

V4_PREFIX = "/api/v4"

ROUTES: list[ControllerRouterHandler] = [
    Router(
        V4_PREFIX,
        route_handlers=[
            *search.ROUTES,
            *vectors.ROUTES,
            *documents.ROUTES,
            *graph.ROUTES,
            *aql.ROUTES,
            *status.ROUTES,
        ],
    )
]
