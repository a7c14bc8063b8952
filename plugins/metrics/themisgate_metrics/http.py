"""HTTP server metrics: an ASGI middleware around the whole app, router included, so 404s
and 405s count too.

Labels are the method (unknown ones as `_OTHER`), the route template the router matched
(`UNMATCHED` when it matched none: never the raw path) and the status code. The
middleware only measures; the recorder (http_recorder.py) keeps the numbers.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from litestar.types import ASGIApp

from themisgate import response_facts

from .apps import CURRENT
from .http_recorder import KNOWN_METHODS, HttpRecorder
from .series import OTHER

if TYPE_CHECKING:
    from .app_metrics import AppMetrics

UNMATCHED = "UNMATCHED"
_BODYLESS = frozenset({"GET", "HEAD"})
STREAMED = -2  # a request body without Content-Length: counted as the app reads it


class HttpMetricsMiddleware:
    def __init__(
        self, app: ASGIApp, recorder: HttpRecorder, owner: AppMetrics, *, skip_path: str
    ) -> None:
        self.app: Any = app
        self.recorder = recorder
        self.active = recorder.active
        self.owner = owner
        self.skip_path = skip_path
        self.methods = {method: method for method in KNOWN_METHODS}

    # ASGI messages and scopes are plain dicts here: Litestar's TypedDicts cost casts on
    # a path that must stay short
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._other(scope, receive, send)
            return
        if scope["path"] == self.skip_path:  # the scrape is not a request worth counting
            await self.app(scope, receive, send)
            return
        method = self.methods.get(scope["method"], OTHER)
        # like OpenTelemetry, a request body's size is recorded only for requests that
        # have one: GET and HEAD never do, others declare it or stream it
        received = -1 if method in _BODYLESS else _content_length(scope)
        response = response_facts(scope)  # status and size, kept by the core

        inner_receive = receive
        if received == STREAMED:

            async def receive_counting() -> dict[str, Any]:
                nonlocal received
                message: dict[str, Any] = await receive()
                received += len(message.get("body", b""))
                return message

            received = 0
            inner_receive = receive_counting

        # per-call hooks find this app by a context variable, unless it is the one app
        # the process runs: then they need no help and the request saves setting it
        owner = self.owner
        token = None if owner.alone else CURRENT.set(owner)
        self.active[method] += 1  # the recorder's count, taken down by `end()`
        started = time.perf_counter()
        try:
            await self.app(scope, inner_receive, send)
        finally:
            elapsed = time.perf_counter() - started
            if token is not None:
                CURRENT.reset(token)
            route = scope.get("path_template") or UNMATCHED
            # no response started: an error escaped to the core, which answers 500
            status = response.status or 500
            self.recorder.end(method, route, status, elapsed, received, response.body_bytes)

    async def _other(self, scope: Any, receive: Any, send: Any) -> None:
        """WebSockets are counted through the WebSocket plugin's events, which need to
        know the app; lifespan passes straight through."""
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        token = CURRENT.set(self.owner)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT.reset(token)


def _content_length(scope: Any) -> int:
    """The declared body size, or STREAMED."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return 0
    return STREAMED
