"""One wire call to ThemisDB: size check, breaker, retries, and typed errors.

`WireClient` owns the single pooled `httpx.AsyncClient` (keep-alive connections are what make
a remote ThemisDB affordable) and is the only place that touches the network, so every
backend method gets the same guarantees: no body over the server's 1 MiB limit is sent (the
server resets the connection instead of answering 413), a dead server trips the circuit
breaker, idempotent reads are retried within a budget, and every failure is a `ThemisError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import msgspec
import structlog

from ..errors import ThemisBadRequest, ThemisProtocolError, ThemisRateLimited, ThemisUnavailable
from ..settings import ThemisSettings
from .breaker import CircuitBreaker, CircuitOpen
from .responses import error_for
from .retry import RETRYABLE_STATUSES, RetryPolicy, is_idempotent_read
from .urls import redact_url

# the server (Boost.Beast's default body limit) resets the connection above this
MAX_BODY_BYTES = 1024 * 1024

RequestHook = Callable[[httpx.Request], None]
Sleep = Callable[[float], Awaitable[None]]

_log = structlog.get_logger(__name__)
_UNWELL = frozenset({502, 503, 504})
_JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}


class WireClient:
    """Sends requests to ThemisDB; `call` returns a 2xx response or raises a `ThemisError`."""

    def __init__(
        self,
        settings: ThemisSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        request_hooks: Sequence[RequestHook] = (),
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.url = redact_url(settings.url)
        self.breaker = breaker or CircuitBreaker(
            settings.breaker_threshold,
            settings.breaker_reset_seconds,
            name=f"ThemisDB at {self.url}",
        )
        self.retry = retry or RetryPolicy.from_settings(settings)
        self.request_hooks: list[RequestHook] = list(request_hooks)
        self._transport = transport
        self._sleep = sleep
        self._clock = clock
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        if self._client is not None:
            return
        settings = self.settings
        headers = {"user-agent": "themisgate"}
        if settings.token is not None and settings.token.reveal():
            headers["authorization"] = f"Bearer {settings.token.reveal()}"
        self._client = httpx.AsyncClient(
            base_url=settings.url,
            headers=headers,
            transport=self._transport,
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
            ),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            event_hooks={"request": [self._run_request_hooks]},
            follow_redirects=False,
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def add_request_hook(self, hook: RequestHook) -> None:
        """Run `hook` on every outgoing request (e.g. to inject a W3C `traceparent`)."""
        self.request_hooks.append(hook)

    async def call(self, what: str, method: str, path: str, body: Any = None) -> httpx.Response:
        """Send one request (retried if it is an idempotent read); `what` completes the
        sentence "trying to …" in error messages, e.g. "read document users:alice"."""
        client = self._require_client()
        content = self._encode(what, body)
        retryable = is_idempotent_read(method, path)
        deadline = self._clock() + self.retry.budget
        retry_number = 0
        while True:
            try:
                response = await self._attempt(client, what, method, path, content, retryable)
            except CircuitOpen:
                raise
            except ThemisUnavailable:
                delay = self._next_delay(retryable, retry_number, deadline, None)
                if delay is None:
                    raise
            else:
                if response.is_success:
                    return response
                error = error_for(response, what)
                if not (retryable and response.status_code in RETRYABLE_STATUSES):
                    raise error
                asked = error.retry_after if isinstance(error, ThemisRateLimited) else None
                delay = self._next_delay(retryable, retry_number, deadline, asked)
                if delay is None:
                    raise error
            _log.debug("themis_retry", what=what, retry=retry_number + 1, delay=delay)
            await self._sleep(delay)
            retry_number += 1

    def _next_delay(
        self, retryable: bool, retry_number: int, deadline: float, asked: float | None
    ) -> float | None:
        """How long to wait before the next attempt, or None when there is none."""
        if not retryable or retry_number >= self.retry.retries:
            return None
        delay = asked if asked is not None else self.retry.backoff(retry_number)
        if self._clock() + delay > deadline:
            return None
        return delay

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        what: str,
        method: str,
        path: str,
        content: bytes | None,
        retryable: bool,
    ) -> httpx.Response:
        with self.breaker.attempt() as permit:
            try:
                response = await client.request(
                    method,
                    path,
                    content=content,
                    headers=_JSON_HEADERS if content is not None else None,
                )
            except httpx.DecodingError as exc:
                permit.failed()
                raise ThemisProtocolError(
                    f"ThemisDB sent an undecodable answer while trying to {what}: {exc}"
                ) from exc
            except httpx.RequestError as exc:
                permit.failed()
                raise self._unavailable(exc, what, write=not retryable) from exc
            # Only answers that say the server itself is unwell open the circuit: this
            # server answers a plain 500 deterministically for some bad requests (reading a
            # vector's entity, a negative depth), and those must not cut off healthy traffic.
            if response.status_code in _UNWELL:
                permit.failed()
            else:
                permit.succeeded()
            return response

    def _unavailable(self, exc: httpx.RequestError, what: str, *, write: bool) -> ThemisUnavailable:
        settings = self.settings
        at = f"ThemisDB at {self.url}"
        maybe_applied = " (the change may or may not have been applied)" if write else ""
        if isinstance(exc, httpx.ConnectTimeout):
            reason = f"{at} did not accept a connection within {settings.connect_timeout}s"
        elif isinstance(exc, httpx.PoolTimeout):
            reason = (
                f"no free connection to {at} within {settings.connect_timeout}s "
                f"(all {settings.max_connections} are busy)"
            )
        elif isinstance(exc, httpx.TimeoutException):
            reason = f"{at} did not answer within {settings.read_timeout}s{maybe_applied}"
        elif isinstance(exc, httpx.ConnectError):
            reason = f"cannot connect to {at}: {str(exc) or type(exc).__name__}"
        elif isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            reason = f"{at} closed the connection without an answer{maybe_applied}"
        else:
            reason = f"cannot reach {at}: {type(exc).__name__}: {exc}"
        return ThemisUnavailable(
            f"{reason} while trying to {what}", retry_after=self.breaker.retry_after()
        )

    def _encode(self, what: str, body: Any) -> bytes | None:
        if body is None:
            return None
        try:
            content = msgspec.json.encode(body)
        except (TypeError, msgspec.EncodeError) as exc:
            raise ThemisBadRequest(f"cannot {what}: the request is not JSON: {exc}") from None
        if len(content) > MAX_BODY_BYTES:
            raise ThemisBadRequest(
                f"cannot {what}: the request body is {len(content)} bytes, over ThemisDB's "
                f"limit of {MAX_BODY_BYTES} bytes (1 MiB), above which the server drops the "
                "connection without an answer"
            )
        return content

    def _require_client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("HttpBackend.start() must be awaited before the first call")
        return self._client

    async def _run_request_hooks(self, request: httpx.Request) -> None:
        for hook in self.request_hooks:
            try:
                hook(request)
            except Exception:
                # a broken tracing hook must not take ThemisDB access down with it
                _log.exception("themis_request_hook_failed", hook=repr(hook))
