"""How problem+json answers appear in the OpenAPI documents, so clients (and schemathesis)
know every error shape a route can answer with."""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec

from ..problems import PROBLEM_JSON


class FieldError(msgspec.Struct):
    field: str | None
    source: str | None
    message: str


class ProblemDetails(msgspec.Struct):
    """RFC 9457 problem details; plugins may add members (e.g. `retry_after`)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {
    400: "The request cannot work (malformed JSON, wrong vector dimension, …)",
    401: "Credentials are missing or not accepted",
    403: "The caller lacks the scope this route needs",
    404: "Nothing is there",
    413: "The body is larger than the server accepts",
    422: "The body or a parameter does not match the schema",
    429: "Too many requests; see Retry-After",
    502: "ThemisDB failed or answered something unexpected",
    503: "ThemisDB or the embedding service is unavailable; see Retry-After",
}

# what any v4 route can answer besides its success
COMMON_ERRORS = (400, 401, 403, 413, 422, 429, 502, 503)


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    codes = statuses or COMMON_ERRORS
    return {
        code: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS.get(code, "Error"),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for code in codes
    }
