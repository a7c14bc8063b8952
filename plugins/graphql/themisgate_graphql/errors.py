"""GraphQL errors with a stable `extensions.code`, and how exceptions from the adapter
or a plugin's resolver become one.

Clients branch on `code`, never on the message: `BAD_USER_INPUT`, `FORBIDDEN`,
`UNAUTHENTICATED`, `RATE_LIMITED`, `QUERY_TOO_COSTLY`, the ThemisDB problem slugs in
upper case (`THEMIS_UNAVAILABLE`, `EMBEDDER_UNAVAILABLE`, …), and
`INTERNAL_SERVER_ERROR` for anything unexpected, whose message is never shown.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from graphql import GraphQLError
from litestar.exceptions import HTTPException

from themisgate import ProblemError
from themisgate.themis import ThemisError, ThemisUnavailable

log = logging.getLogger("themisgate.graphql")

BAD_USER_INPUT = "BAD_USER_INPUT"
FORBIDDEN = "FORBIDDEN"
UNAUTHENTICATED = "UNAUTHENTICATED"
RATE_LIMITED = "RATE_LIMITED"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
INTERNAL = "INTERNAL_SERVER_ERROR"
INTERNAL_MESSAGE = "Internal server error; the server log has the details."


def user_error(message: str, code: str = BAD_USER_INPUT, **extensions: Any) -> GraphQLError:
    """An error the caller can fix; raise it from a resolver."""
    return GraphQLError(message, extensions={"code": code, **extensions})


def retry_after_seconds(seconds: float) -> int:
    """Whole seconds, at least 1: what `Retry-After` and `retryAfter` carry."""
    return max(1, math.ceil(seconds))


def _code(slug: str) -> str:
    return slug.replace("-", "_").upper()


def shaped(error: GraphQLError) -> GraphQLError:
    """The error a client may see: expected failures keep their message and gain a code;
    anything else is masked (and logged by `GraphQLSchema.process_errors`)."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error
    extensions: dict[str, Any]
    if isinstance(original, ThemisError):
        message = original.message
        extensions = {"code": _code(original.problem)}
        if isinstance(original, ThemisUnavailable):
            wait = original.retry_after if original.retry_after is not None else 5.0
            extensions["retryAfter"] = retry_after_seconds(wait)
    elif isinstance(original, ProblemError):
        message = original.detail
        extensions = {"code": _code(original.slug), **original.extensions}
    elif isinstance(original, HTTPException) and original.status_code < 500:
        message = original.detail
        extensions = {"code": _code(f"http-{original.status_code}")}
    else:
        message = INTERNAL_MESSAGE
        extensions = {"code": INTERNAL}
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def is_expected(error: GraphQLError) -> bool:
    """Errors that are the caller's doing or a dependency's, not a bug here."""
    original = error.original_error
    return original is None or isinstance(
        original, GraphQLError | ThemisError | ProblemError | HTTPException
    )
