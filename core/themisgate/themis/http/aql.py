"""AQL over the wire API: what `HttpBackend.aql` sends to `POST /query/aql` and how it reads
the answer.

The server has no bind variables, so the query is parsed here first (a syntax error, a
missing bind or a forbidden token fails before any request), then sent with its binds
written in as literals (`aql.binds.substitute`). Its answer lists whole documents as JSON
strings; those are decoded, while projections and plain values stay as they are — which is
which follows from the query's RETURN, not from guessing at strings (a name that happens
to read `"123"` stays a string).

Paging: with `batch_size` or a cursor the request asks the server for `use_cursor`; the
server's `next_cursor` is wrapped in this backend's own signed cursor, so a client never
sees (or forges) the server's. A server that ignores `use_cursor` answers with everything;
then the page is cut here and the cursor holds an offset.

Errors keep the server's words (German ones too), typed: its parse errors become
`AqlSyntaxError` with the line and column it reported, its full-scan refusals `AqlFullScan`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..aql.errors import AqlForbidden, AqlFullScan, AqlSyntaxError
from ..errors import ThemisBadRequest, ThemisError, ThemisProtocolError
from .responses import snippet

WHAT = "run the AQL query"
_PARSE_ERROR = re.compile(r"AQL parse error: (.*) at line (\d+), column (\d+)", re.DOTALL)
# the server's words for "no index here": "kein Index für users.city", "keine Prädikate"
_FULL_SCAN = re.compile(r"kein Index|keine Prädikate|full.?scan|no index", re.IGNORECASE)
EXPLAIN_KEYS = ("plan", "ast")


def typed_error(exc: ThemisBadRequest) -> ThemisError:
    """The AQL error the server's 400 means, with the server's message kept."""
    detail = exc.detail or ""
    parse_error = _PARSE_ERROR.search(detail)
    if parse_error is not None:
        return AqlSyntaxError(
            exc.message,
            line=int(parse_error.group(2)),
            column=int(parse_error.group(3)),
            expected=[],
        )
    if detail.startswith("forbidden token in AQL query"):
        return AqlForbidden(detail)
    if _FULL_SCAN.search(detail):
        return AqlFullScan(
            f"{exc.message}: the server scans an unindexed field only with allow_full_scan"
        )
    return exc


def entries(answer: dict[str, Any]) -> list[Any]:
    """The results of an answer without paging: `entities`, else `result`."""
    for name in ("entities", "result"):
        found = answer.get(name)
        if isinstance(found, list):
            return found
    raise ThemisProtocolError(f"ThemisDB's answer to {WHAT} has no entities list")


def decode(values: list[Any], stored: bool) -> list[Any]:
    """Whole documents (when the query returns them) from JSON strings to objects."""
    if not stored:
        return values
    decoded: list[Any] = []
    for value in values:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ThemisProtocolError(
                    f"ThemisDB returned a document as a string that is not JSON: {snippet(value)}"
                ) from None
        decoded.append(value)
    return decoded
