"""The ThemisDB adapter: one protocol, an HTTP backend for the real server, an embedded engine."""

from .errors import (
    DimensionMismatch,
    EmbedderUnavailable,
    ThemisAuthError,
    ThemisBadRequest,
    ThemisConflict,
    ThemisError,
    ThemisNotFound,
    ThemisPolicyDenied,
    ThemisProtocolError,
    ThemisRateLimited,
    ThemisServerError,
    ThemisUnavailable,
)
from .models import (
    Direction,
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
from .protocol import Embedder, ThemisBackend
from .settings import EmbedderSettings, ThemisSettings

__all__ = [
    "DimensionMismatch",
    "Direction",
    "Document",
    "Edge",
    "Embedder",
    "EmbedderSettings",
    "EmbedderUnavailable",
    "Health",
    "IndexInfo",
    "ThemisAuthError",
    "ThemisBackend",
    "ThemisBadRequest",
    "ThemisConflict",
    "ThemisError",
    "ThemisNotFound",
    "ThemisPolicyDenied",
    "ThemisProtocolError",
    "ThemisRateLimited",
    "ThemisServerError",
    "ThemisSettings",
    "ThemisUnavailable",
    "Traversal",
    "TraversalQuery",
    "UpsertResult",
    "VectorHit",
    "VectorItem",
]
