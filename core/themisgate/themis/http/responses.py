"""Every answer ThemisDB can give, turned into a value or one typed error.

The server has two error shapes — `{"error": true, "message", "status_code"}` from most
handlers and `{"error": "missing_authorization" | "policy_denied", "message"}` from auth and
policy checks — answers 404 "Endpoint not found" for routes it lacks (older revisions lack
some the wire API lists), 500 for requests it could have rejected, and sometimes messages in
German. Callers above the backend should never see any of that: they get a `ThemisError`
subclass whose message says what was attempted and keeps the server's own words.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import msgspec

from ..errors import (
    DimensionMismatch,
    ThemisAuthError,
    ThemisBadRequest,
    ThemisConflict,
    ThemisError,
    ThemisNotFound,
    ThemisPolicyDenied,
    ThemisProtocolError,
    ThemisRateLimited,
    ThemisServerError,
)
from .retry import parse_retry_after

ENDPOINT_NOT_FOUND = "Endpoint not found"
_DIMENSION = re.compile(r"dimension mismatch: expected (\d+), got (\d+)", re.IGNORECASE)
_SNIPPET = 200


class MissingRoute(ThemisProtocolError):
    """The server answered 404 "Endpoint not found" for a route the wire API lists: it is an
    older revision (or not ThemisDB). Callers with a fallback catch this one."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


def snippet(text: str) -> str:
    """At most a couple of hundred characters of an unexpected body, for a message."""
    text = text.strip()
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…"


def decode_body(response: httpx.Response, what: str) -> Any:
    """The JSON of a successful answer; `ThemisProtocolError` when it is not JSON."""
    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        raise ThemisProtocolError(
            f"ThemisDB answered the request to {what} with a body that is not JSON "
            f"(HTTP {response.status_code}): {snippet(response.text) or '<empty>'}"
        ) from None


def as_object(value: Any, what: str) -> dict[str, Any]:
    """An object the server sent as an object or as a JSON-encoded string (it does both)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ThemisProtocolError(
                f"ThemisDB returned {what} as a string that is not JSON: {snippet(value)}"
            ) from None
    if not isinstance(value, dict):
        raise ThemisProtocolError(
            f"ThemisDB returned {what} as {type(value).__name__}, expected a JSON object"
        )
    return value


def expect_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """A successful answer that must be a JSON object (possibly JSON-encoded as a string)."""
    return as_object(decode_body(response, what), f"the answer to {what}")


def server_message(response: httpx.Response) -> tuple[str, str | None]:
    """(message, code) from either error shape, or a snippet of a body that is neither."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return snippet(response.text) or response.reason_phrase or "no message", None
    if isinstance(body, dict):
        message = body.get("message")
        error = body.get("error")
        code = error if isinstance(error, str) else None
        if isinstance(message, str) and message:
            return message, code
        if code:
            return code, code
    return snippet(response.text), None


def error_for(response: httpx.Response, what: str) -> ThemisError:
    """The typed error for a non-2xx answer to the request that tried to `what`."""
    status = response.status_code
    message, code = server_message(response)
    suffix = f"{message} (HTTP {status})"
    if status == 400:
        dimension = _DIMENSION.search(message)
        if dimension:
            return DimensionMismatch(int(dimension.group(1)), int(dimension.group(2)))
        return ThemisBadRequest(f"ThemisDB refused to {what}: {suffix}", detail=message)
    if status == 401:
        return ThemisAuthError(
            f"ThemisDB refused our credentials to {what}: {suffix}; check core.themis.token",
            upstream_status=401,
            code=code,
        )
    if status == 403:
        if code == "policy_denied":
            return ThemisPolicyDenied(f"A ThemisDB policy denies us to {what}: {message}")
        return ThemisAuthError(
            f"ThemisDB forbids us to {what}: {suffix}", upstream_status=403, code=code
        )
    if status == 404:
        if message == ENDPOINT_NOT_FOUND:
            method, path = _route(response)
            return MissingRoute(
                f"This ThemisDB server has no route {method} {path} (needed to {what}); "
                "it is an older revision or not ThemisDB",
                method=method,
                path=path,
            )
        return ThemisNotFound(f"ThemisDB could not {what}: {message}", detail=message)
    if status == 409:
        return ThemisConflict(f"ThemisDB refused to {what}: {suffix}", detail=message)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        wait = f"; retry after {retry_after:.0f}s" if retry_after is not None else ""
        return ThemisRateLimited(
            f"ThemisDB's rate limit refused the request to {what}{wait}", retry_after=retry_after
        )
    if 400 <= status < 500:
        return ThemisBadRequest(f"ThemisDB refused to {what}: {suffix}", detail=message)
    if status >= 500:
        return ThemisServerError(f"ThemisDB failed to {what}: {suffix}", detail=message)
    return ThemisProtocolError(f"ThemisDB answered the request to {what} with HTTP {status}")


def _route(response: httpx.Response) -> tuple[str, str]:
    try:
        request = response.request
    except RuntimeError:  # a response built by hand, without its request
        return "?", "?"
    return request.method, request.url.path
