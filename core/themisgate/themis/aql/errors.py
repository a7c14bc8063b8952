"""What can be wrong with an AQL request, each a `ThemisBadRequest` with its own problem slug.

The v4 API turns these into problem+json (`urn:themisgate:problem:<slug>`); `extensions`
adds machine-readable facts such as where a syntax error is.
"""

from __future__ import annotations

from typing import Any

from ..errors import ThemisBadRequest, ThemisUnsupported


class AqlError(ThemisBadRequest):
    """The base of every AQL error."""

    problem = "aql-error"


class AqlSyntaxError(AqlError):
    """The query does not parse: where (1-based line and column), and what could have come
    there instead (`expected`, human-readable, e.g. `RETURN`, `a name`, `'('`)."""

    problem = "aql-syntax-error"

    def __init__(self, message: str, *, line: int, column: int, expected: list[str]) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.expected = expected

    @property
    def extensions(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "expected": self.expected}


class AqlQueryError(AqlError):
    """The query parses but cannot run: an unknown variable, a variable defined twice, an
    unknown function, a depth range the engine refuses."""

    problem = "aql-invalid-query"


class AqlForbidden(AqlError):
    """The query contains a token the server refuses anywhere in a query, even inside a
    string (`insert `, `update `, `delete `, `drop `), or a NUL byte: AQL here is read-only."""

    problem = "aql-forbidden-token"


class AqlBindError(AqlError):
    """A bind variable is missing, unused, or of a type its position cannot take."""

    problem = "aql-bind-error"


class AqlFullScan(AqlError):
    """FILTER or SORT on a field without an index (or no FILTER at all) would scan the whole
    collection, and the request did not allow full scans — the server's rule."""

    problem = "aql-full-scan"


class AqlLimitExceeded(AqlError):
    """The query would do more work than the engine allows (rows materialised, time)."""

    problem = "aql-limit-exceeded"


class AqlCursorInvalid(AqlError):
    """A cursor that was not issued for this query by this server, or was altered."""

    problem = "aql-cursor-invalid"


class AqlCursorExpired(AqlCursorInvalid):
    """A genuine cursor whose time ran out: run the query again from the start."""

    problem = "aql-cursor-expired"


class AqlUnsendable(ThemisUnsupported):
    """A bind value the HTTP backend cannot put into a query text the server accepts."""

    problem = "aql-bind-unsendable"
