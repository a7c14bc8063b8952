"""`create_lite_app`: the ThemisDB wire API over an `EmbeddedBackend`, as a Litestar app.

Lean on purpose: no OpenAPI, no DTOs, handlers read raw bodies and answer pre-encoded
msgspec JSON. Everything the server answers with an error body answers with one here too:
unknown routes and unrouted methods are 404 "Endpoint not found", a preflight `OPTIONS` is
403 (no CORS, as on the server), a body over 1 MiB is a 413 JSON error (the server just
resets the connection), and nothing ends as a bare 500 with a traceback.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from litestar import Litestar, Request, Response
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ..embedded import EmbeddedBackend
from ..errors import ThemisBadRequest, ThemisError, ThemisNotFound, ThemisUnavailable
from . import aql, entities, graph, system, vectors
from ._context import LiteContext
from ._wire import WireError, encode, error_response

MAX_BODY_BYTES = 1 << 20  # the server's own ceiling: it resets connections above it
# read and discard up to this much of an oversized body so the client sees the 413
_DRAIN_LIMIT = 64 << 20
_OPEN_PATHS = frozenset({"/health"})

log = logging.getLogger("themisgate.lite")


def create_lite_app(
    backend: EmbeddedBackend, *, token: str | None = None, manage_backend: bool = False
) -> Litestar:
    """The wire API over `backend`. With `manage_backend`, the app's lifespan starts and
    closes the backend; otherwise its owner does. With `token`, every route but `/health`
    requires `Authorization: Bearer <token>`."""
    ctx = LiteContext(backend=backend, token=token or None)

    async def count(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            ctx.total_requests += 1
            if message["status"] >= 400:
                ctx.total_errors += 1

    return Litestar(
        route_handlers=[
            *system.routes(ctx),
            *entities.routes(ctx),
            *vectors.routes(ctx),
            *graph.routes(ctx),
            *aql.routes(ctx),
        ],
        before_request=_gate(ctx),
        before_send=[count],
        middleware=[_limit_body],
        exception_handlers={
            WireError: _wire_error,
            ThemisError: _themis_error,
            NotFoundException: _endpoint_not_found,
            MethodNotAllowedException: _endpoint_not_found,
            RequestEntityTooLarge: _too_large,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        request_max_body_size=MAX_BODY_BYTES,
        on_startup=[backend.start] if manage_backend else [],
        on_shutdown=[backend.close] if manage_backend else [],
        openapi_config=None,
        logging_config=None,
    )


def _gate(ctx: LiteContext) -> Any:
    """Before every routed request: refuse CORS preflights, then check the bearer token."""
    expected = None if ctx.token is None else f"Bearer {ctx.token}".encode()

    async def gate(request: Request[Any, Any, Any]) -> Response[bytes] | None:
        if request.method == "OPTIONS":
            return error_response(403, "CORS origin not allowed")
        if expected is None or request.scope["path"] in _OPEN_PATHS:
            return None
        given = request.headers.get("authorization")
        if given is None:
            return error_response(
                401, "Authorization: Bearer <token> required", code="missing_authorization"
            )
        if not hmac.compare_digest(given.encode(), expected):
            return error_response(401, "Invalid bearer token", code="invalid_token")
        return None

    return gate


def _limit_body(app: ASGIApp) -> ASGIApp:
    """Answer an announced oversized body with a 413 after draining it, so the client can
    read the answer instead of having its upload cut off mid-stream."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            length = _content_length(scope)
            if length is not None and length > MAX_BODY_BYTES:
                if length <= _DRAIN_LIMIT:
                    await _drain(receive)
                await _send_too_large(send)
                return
        await app(scope, receive, send)

    return middleware


_TOO_LARGE = f"Request body too large: the limit is {MAX_BODY_BYTES} bytes (1 MiB)"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_too_large(send: Send) -> None:
    body = encode({"error": True, "message": _TOO_LARGE, "status_code": 413})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _wire_error(_: Request[Any, Any, Any], exc: WireError) -> Response[bytes]:
    return exc.response()


def _themis_error(_: Request[Any, Any, Any], exc: ThemisError) -> Response[bytes]:
    if isinstance(exc, ThemisBadRequest):
        status = 400
    elif isinstance(exc, ThemisNotFound):
        status = 404
    elif isinstance(exc, ThemisUnavailable):
        status = 503
    else:
        status = 500
    return error_response(status, exc.message)


def _endpoint_not_found(_: Request[Any, Any, Any], __: HTTPException) -> Response[bytes]:
    return error_response(404, "Endpoint not found")


def _too_large(_: Request[Any, Any, Any], __: HTTPException) -> Response[bytes]:
    return error_response(413, _TOO_LARGE)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    return error_response(exc.status_code, exc.detail)


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("themis-lite: %s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "Internal server error")
