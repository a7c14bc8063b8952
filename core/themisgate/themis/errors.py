"""Typed errors every ThemisDB backend raises.

Each error carries the HTTP status the v4 API answers with and a stable problem slug, so the
API layer turns any of them into RFC 9457 problem+json without knowing which backend failed.
"""

from __future__ import annotations

from typing import Any


class ThemisError(Exception):
    """Base class: something ThemisDB (or the way to it) did not do."""

    status_code: int = 502
    problem: str = "themis-error"

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    @property
    def extensions(self) -> dict[str, Any]:
        """Machine-readable facts for the problem+json body (e.g. where a syntax error is)."""
        return {}


class ThemisBadRequest(ThemisError):
    """The request cannot work: wrong shape, bad key, forbidden AQL token."""

    status_code = 400
    problem = "themis-bad-request"


class DimensionMismatch(ThemisBadRequest):
    """A vector's dimension differs from the index's (fixed by config or the first insert)."""

    problem = "vector-dimension-mismatch"

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"Vector dimension mismatch: expected {expected}, got {got}")
        self.expected = expected
        self.got = got


class ThemisUnsupported(ThemisBadRequest):
    """This backend or server cannot do what was asked (e.g. an inbound traversal over the
    wire API's outbound-only `/graph/traverse`); the same request may work elsewhere."""

    problem = "themis-unsupported"


class ThemisNotFound(ThemisError):
    status_code = 404
    problem = "not-found"


class ThemisConflict(ThemisError):
    status_code = 409
    problem = "conflict"


class ThemisAuthError(ThemisError):
    """ThemisDB refused our credentials (401) or a policy denied the call (403)."""

    status_code = 502
    problem = "themis-auth"

    def __init__(self, message: str, *, upstream_status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status
        self.code = code


class ThemisPolicyDenied(ThemisError):
    """A ThemisDB policy forbids this operation for us (its 403 `policy_denied`)."""

    status_code = 403
    problem = "themis-policy-denied"


class ThemisUnavailable(ThemisError):
    """ThemisDB cannot be reached, timed out, or the circuit breaker is open."""

    status_code = 503
    problem = "themis-unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ThemisRateLimited(ThemisUnavailable):
    """ThemisDB's own rate limit answered 429; `retry_after` is what it asked for."""

    problem = "themis-rate-limited"


class ThemisServerError(ThemisError):
    """ThemisDB answered 5xx or something no client can make sense of."""

    status_code = 502
    problem = "themis-server-error"


class ThemisProtocolError(ThemisServerError):
    """ThemisDB answered with a shape the wire API does not describe."""

    problem = "themis-protocol-error"


class EmbedderUnavailable(ThemisUnavailable):
    """The embedding service is down or timed out."""

    problem = "embedder-unavailable"


class EmbedderError(ThemisError):
    """The embedding service answered, but not usefully: a refused key, an unknown model, or
    vectors of another dimension than `[core.themis.embedder] dimension`."""

    status_code = 502
    problem = "embedder-error"
