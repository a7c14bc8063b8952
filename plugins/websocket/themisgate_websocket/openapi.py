"""The problem+json answers of this plugin's HTTP routes, for the v4 OpenAPI document (the
core's own helper is not public API, so its shape is mirrored here)."""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec

PROBLEM_JSON = "application/problem+json"


class FieldError(msgspec.Struct):
    field: str | None
    source: str | None
    message: str


class ProblemDetails(msgspec.Struct):
    """RFC 9457 problem details, as every themisgate error is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {
    400: "The request cannot work (malformed JSON, …)",
    401: "Credentials are missing or not accepted",
    403: "The caller lacks the scope this route needs",
    413: "The body is larger than the server accepts",
    422: "The body or a parameter does not match the schema",
    429: "Too many requests; see Retry-After",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        code: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS.get(code, "Error"),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for code in statuses
    }
