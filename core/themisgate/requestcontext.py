"""The core's one middleware: a request id on every response, bound into every log
record of the request, an access log line when the response is complete, and the one
`send` wrapper that fills the request's `ResponseFacts` (responsefacts.py)."""

from __future__ import annotations

import itertools
import os
import re
import time
from typing import Any

import msgspec
import structlog
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from .logfields import log_field
from .problems import INTERNAL_ERROR_DETAIL, PROBLEM_JSON, REQUEST_ID_SCOPE_KEY, TYPE_PREFIX
from .responsefacts import response_facts

REQUEST_CONTEXT_PRIORITY = 900
# an incoming id is kept only if it is short and printable, so it cannot forge log lines
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

ACCESS_LOGGER = "themisgate.access"
_REQUEST_ID = log_field("request_id")


class RequestIds:
    """Unique ids without a syscall per request: a random 64-bit prefix per process and a
    counter, 32 hex digits like a UUID. Ids need to be unique, not unguessable."""

    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, header: str, log_access: bool) -> None:
        self.app = app
        self.header = header.lower().encode("latin-1")
        self.log_access = log_access
        self.new_id = RequestIds()
        # bound now, after the app configured logging: a lazy proxy would bind per line
        self.access_log = structlog.get_logger(ACCESS_LOGGER).bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = self._incoming_id(scope) or self.new_id()
        scope[REQUEST_ID_SCOPE_KEY] = request_id  # type: ignore[literal-required]
        header = (self.header, request_id.encode("latin-1"))
        started = time.perf_counter()
        facts = response_facts(scope)  # type: ignore[arg-type]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                facts.status = message["status"]
                message["headers"] = [*message.get("headers", ()), header, *facts.headers]
            elif message["type"] == "http.response.body":
                facts.body_bytes += len(message.get("body", b""))
            await send(message)

        token = _REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # An error in a middleware inside this one (outside Litestar's own handler):
            # answer a problem like any other, unless the response is already under way.
            if facts.status or scope["type"] != "http":  # type: ignore[comparison-overlap]
                raise
            self.access_log.exception("unhandled error in middleware", path=scope["path"])
            facts.status = 500
            await _send_internal_error(send, request_id, scope["path"], header)
        finally:
            if self.log_access and scope["type"] == "http":  # type: ignore[comparison-overlap]
                self.access_log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope["path"],
                    status=facts.status or 500,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
            _REQUEST_ID.reset(token)

    def _incoming_id(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == self.header:
                return value.decode("latin-1") if _SAFE_ID.match(value) else None
        return None


def request_context_factory(header: str, log_access: bool) -> Any:
    def factory(app: ASGIApp) -> ASGIApp:
        return RequestContextMiddleware(app, header=header, log_access=log_access)

    return factory


async def _send_internal_error(
    send: Send, request_id: str, path: str, header: tuple[bytes, bytes]
) -> None:
    body = msgspec.json.encode(
        {
            "type": TYPE_PREFIX + "internal-error",
            "title": "Internal Server Error",
            "status": 500,
            "detail": INTERNAL_ERROR_DETAIL,
            "instance": path,
            "request_id": request_id,
        }
    )
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 500,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            header,
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
