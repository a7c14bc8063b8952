"""RFC 9457 problem+json for every error the server answers.

Each kind of error has a stable `type` (`urn:themisgate:problem:<slug>`, listed in
docs/api.md) a client can branch on; `title` is the short human summary, `detail` what
happened this time, `instance` the request path, `request_id` the id to quote in a report.
No handler ever sends a traceback: unexpected exceptions are logged with theirs and
answered with a 500 problem naming the request id.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from .themis.errors import ThemisError, ThemisUnavailable

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:themisgate:problem:"
REQUEST_ID_SCOPE_KEY = "themisgate_request_id"
DEFAULT_RETRY_AFTER = 5.0
INTERNAL_ERROR_DETAIL = (
    "The server failed to answer this request; quote the request id when reporting it."
)

log = structlog.get_logger("themisgate.errors")

_SLUG_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "quota-exceeded",
    500: "internal-error",
    502: "bad-gateway",
    503: "service-unavailable",
    504: "gateway-timeout",
}


class ProblemError(HTTPException):
    """Raise from anywhere to answer with a problem of your own `slug` and fields."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=dict(headers or {}))
        self.slug = slug or _SLUG_BY_STATUS.get(status_code, "error")
        self.title = title
        self.extensions = extensions

    def document(self, scope: Mapping[str, Any] | None) -> dict[str, Any]:
        """This error's RFC 9457 body, for the request (or WebSocket handshake) `scope`."""
        return problem_document(
            scope,
            self.status_code,
            self.slug,
            self.detail,
            title=self.title,
            extensions=self.extensions,
        )


def problem_response(
    request: Request[Any, Any, Any] | None,
    status: int,
    slug: str,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    scope = request.scope if request is not None else None
    body = problem_document(scope, status, slug, detail, title=title, extensions=extensions)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def problem_document(
    scope: Mapping[str, Any] | None,
    status: int,
    slug: str,
    detail: str,
    *,
    title: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The RFC 9457 body: `instance` and `request_id` come from the request's `scope`."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + slug,
        "title": title or _title(status),
        "status": status,
        "detail": detail,
    }
    if scope is not None:
        body["instance"] = scope["path"]
        request_id = scope.get(REQUEST_ID_SCOPE_KEY)
        if request_id:
            body["request_id"] = request_id
    if extensions:
        body.update(extensions)
    return body


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _validation_errors(extra: Any) -> list[dict[str, Any]]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", "")).replace("`", "")
            errors.append(
                {"field": item.get("key"), "source": item.get("source"), "message": message}
            )
    return errors


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The one exception handler the app installs, for every exception type."""
    if isinstance(exc, ProblemError):
        return Response(
            exc.document(request.scope),
            status_code=exc.status_code,
            media_type=PROBLEM_JSON,
            headers=dict(exc.headers or {}),
        )
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc.extra)
        detail = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
        )
        return problem_response(
            request,
            422,
            "validation-error",
            detail or "The request does not match the expected schema.",
            extensions={"errors": errors},
        )
    if isinstance(exc, HTTPException):
        status = exc.status_code
        slug = _SLUG_BY_STATUS.get(status, "error")
        detail = exc.detail
        if status == 400 and "malformed" in detail.lower():
            slug = "malformed-body"
        elif status == 404 and detail == "Not Found":
            detail = f"No route matches {request.method} {request.url.path}."
        elif status == 405:
            allowed = (exc.headers or {}).get("allow", "")
            detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}."
        elif status == 413:
            detail = "The request body is larger than this server accepts."
        if status >= 500:
            log.error("http error", status=status, detail=detail)
        return problem_response(request, status, slug, detail, headers=exc.headers)
    if isinstance(exc, ThemisError):
        headers = {}
        if isinstance(exc, ThemisUnavailable):
            # every 503 says when to come back: the dependency's own hint, else a short pause
            wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
            headers["Retry-After"] = str(max(1, round(wait)))
        if exc.status_code >= 500:
            log.warning("themis error", problem=exc.problem, detail=exc.message)
        return problem_response(
            request,
            exc.status_code,
            exc.problem,
            exc.message,
            headers=headers,
            extensions=exc.extensions,
        )
    log.exception("unhandled error", path=request.url.path, method=request.method)
    return problem_response(
        request,
        500,
        "internal-error",
        INTERNAL_ERROR_DETAIL,
    )
