"""AQL is read-only, as on the server: it refuses any query whose text contains `insert `,
`update `, `delete ` or `drop ` (any case), even inside a string, before parsing it — and
with the server's own message, so a client sees the same 400 from either backend.
"""

from __future__ import annotations

from .errors import AqlForbidden, AqlLimitExceeded

FORBIDDEN = ("insert ", "update ", "delete ", "drop ")
# beyond the server: a query this long is refused before it costs a parse
MAX_QUERY_CHARS = 100_000


def forbidden_token(text: str) -> str | None:
    """The first forbidden token in `text` (the server's order), or None."""
    lowered = text.lower()
    for token in FORBIDDEN:
        if token in lowered:
            return token
    return None


def check_read_only(query: str) -> None:
    """Raise `AqlForbidden` for what the server refuses before parsing."""
    if "\x00" in query:
        raise AqlForbidden("NUL byte not allowed in AQL query")
    token = forbidden_token(query)
    if token is not None:
        raise AqlForbidden(f"forbidden token in AQL query: {token!r}")
    if len(query) > MAX_QUERY_CHARS:
        raise AqlLimitExceeded(
            f"AQL query is {len(query)} characters long; at most {MAX_QUERY_CHARS} are accepted"
        )
