"""HttpBackend when ThemisDB is slow, down, flaky or rate limiting.

Attempts are counted at the transport, so "retried" and "not retried" are facts, not timing.
Time is a fake clock that only moves when a test (or a fake sleep) moves it. Timeouts and
refused connections use real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from themisgate.themis import (
    Edge,
    ThemisBadRequest,
    ThemisError,
    ThemisRateLimited,
    ThemisServerError,
    ThemisSettings,
    ThemisUnavailable,
    TraversalQuery,
    VectorItem,
)
from themisgate.themis.http import CircuitBreaker, CircuitOpen, HttpBackend, RetryPolicy
from themisgate.themis.http.retry import is_idempotent_read, parse_retry_after

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Counting:
    """A MockTransport handler that counts attempts per route and answers with `answer`."""

    def __init__(self, answer: Handler) -> None:
        self.answer = answer
        self.attempts: Counter[tuple[str, str]] = Counter()

    @property
    def total(self) -> int:
        return sum(self.attempts.values())

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.attempts[(request.method, request.url.path)] += 1
        response = self.answer(request)
        if not isinstance(response, httpx.Response):
            response = await response
        return response


def status(code: int, **headers: str) -> Handler:
    return lambda _: httpx.Response(code, json={"error": True, "message": "x"}, headers=headers)


def connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


OK_DOCUMENT = httpx.Response(200, json={"key": "users:alice", "blob": '{"name":"Alice"}'})


@asynccontextmanager
async def backend_with(
    handler: Handler | None = None,
    *,
    clock: FakeClock | None = None,
    retries: int = 2,
    threshold: int = 100,
    reset: float = 5.0,
    url: str = "http://themis.test:8765",
    **settings: Any,
) -> AsyncIterator[HttpBackend]:
    clock = clock or FakeClock()
    config = ThemisSettings(
        backend="http",
        url=url,
        retries=retries,
        breaker_threshold=threshold,
        breaker_reset_seconds=reset,
        **settings,
    )
    backend = HttpBackend(
        config,
        httpx.MockTransport(handler) if handler is not None else None,
        breaker=CircuitBreaker(threshold, reset, clock=clock),
        retry=RetryPolicy(retries=retries, base_delay=0.01, max_delay=0.05, budget=10.0),
        sleep=clock.sleep,
        clock=clock,
    )
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


# --- which calls are retried --------------------------------------------------------------


def test_only_reads_count_as_idempotent() -> None:
    assert is_idempotent_read("GET", "/entities/users:a")
    assert is_idempotent_read("POST", "/vector/search")
    assert is_idempotent_read("POST", "/graph/traverse")
    for method, path in [
        ("PUT", "/entities/users:a"),
        ("DELETE", "/entities/users:a"),
        ("POST", "/vector/batch_insert"),
        ("DELETE", "/vector/by-filter"),
        ("POST", "/graph/edge"),
        ("POST", "/content/import"),
        ("POST", "/query/aql"),
    ]:
        assert not is_idempotent_read(method, path), (method, path)


READS: list[Callable[[HttpBackend], Awaitable[object]]] = [
    lambda b: b.get_document("users", "alice"),
    lambda b: b.search_vectors([1.0, 0.0], 1),
    lambda b: b.traverse(TraversalQuery("alice", max_depth=1)),
    lambda b: b.health(),
]
WRITES: list[Callable[[HttpBackend], Awaitable[object]]] = [
    lambda b: b.put_document("users", "alice", {"name": "Alice"}),
    lambda b: b.delete_document("users", "alice"),
    lambda b: b.upsert_vectors("users", [VectorItem("alice", [1.0, 0.0])]),
    lambda b: b.delete_vectors("users", ["alice"]),
    lambda b: b.add_edge(Edge("e1", "users:alice", "users:bob")),
]


@pytest.mark.parametrize("failure", [status(503), status(502), connect_error])
@pytest.mark.parametrize("read", READS)
async def test_reads_are_retried(
    read: Callable[[HttpBackend], Awaitable[object]], failure: Handler
) -> None:
    transport = Counting(failure)
    async with backend_with(transport, retries=2) as backend:
        with pytest.raises((ThemisServerError, ThemisUnavailable)):
            await read(backend)
    assert transport.total == 3


@pytest.mark.parametrize("failure", [status(503), connect_error])
@pytest.mark.parametrize("write", WRITES)
async def test_writes_are_never_retried(
    write: Callable[[HttpBackend], Awaitable[object]], failure: Handler
) -> None:
    transport = Counting(failure)
    async with backend_with(transport, retries=2) as backend:
        with pytest.raises((ThemisServerError, ThemisUnavailable)):
            await write(backend)
    assert transport.total == 1


async def test_a_plain_500_is_not_retried() -> None:
    transport = Counting(status(500))
    async with backend_with(transport, retries=2) as backend:
        with pytest.raises(ThemisServerError):
            await backend.get_document("users", "alice")
    assert transport.total == 1


async def test_a_read_recovers_when_a_retry_succeeds() -> None:
    answers = iter([status(503), connect_error, lambda _: OK_DOCUMENT])
    transport = Counting(lambda request: next(answers)(request))
    async with backend_with(transport, retries=2) as backend:
        document = await backend.get_document("users", "alice")
    assert document == {"name": "Alice"}
    assert transport.total == 3


async def test_backoff_stays_within_the_budget() -> None:
    clock = FakeClock()
    transport = Counting(status(503))
    config = ThemisSettings(
        backend="http", url="http://themis.test", retries=50, breaker_threshold=1000
    )
    backend = HttpBackend(
        config,
        httpx.MockTransport(transport),
        retry=RetryPolicy(retries=50, base_delay=0.2, max_delay=1.0, budget=2.0),
        sleep=clock.sleep,
        clock=clock,
    )
    await backend.start()
    with pytest.raises(ThemisServerError):
        await backend.get_document("users", "alice")
    await backend.close()
    assert sum(clock.slept) <= 2.0
    assert transport.total == len(clock.slept) + 1 < 51


# --- 429 and Retry-After ------------------------------------------------------------------


async def test_retry_after_seconds_is_honoured() -> None:
    clock = FakeClock()
    answers = iter([status(429, **{"Retry-After": "2"}), lambda _: OK_DOCUMENT])
    transport = Counting(lambda request: next(answers)(request))
    async with backend_with(transport, clock=clock) as backend:
        document = await backend.get_document("users", "alice")
    assert document == {"name": "Alice"}
    assert clock.slept == [2.0]
    assert transport.total == 2


async def test_retry_after_http_date_is_honoured() -> None:
    clock = FakeClock()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=4), usegmt=True)
    answers = iter([status(429, **{"Retry-After": when}), lambda _: OK_DOCUMENT])
    transport = Counting(lambda request: next(answers)(request))
    async with backend_with(transport, clock=clock) as backend:
        await backend.get_document("users", "alice")
    # HTTP-dates have whole seconds: the wait is what is left of the 4 s, never more
    assert len(clock.slept) == 1
    assert 2.0 < clock.slept[0] <= 4.0


def test_parse_retry_after() -> None:
    now = datetime(2025, 11, 23, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after("Sun, 23 Nov 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sun, 23 Nov 2025 11:00:00 GMT", now=now) == 0.0
    for unreadable in (None, "", "soon", "-5", "inf", "nan"):
        assert parse_retry_after(unreadable, now=now) is None


async def test_retry_after_beyond_the_budget_raises_rate_limited() -> None:
    clock = FakeClock()
    transport = Counting(status(429, **{"Retry-After": "120"}))
    async with backend_with(transport, clock=clock) as backend:
        with pytest.raises(ThemisRateLimited) as limited:
            await backend.search_vectors([1.0, 0.0], 3)
    assert limited.value.retry_after == 120.0
    assert clock.slept == []
    assert transport.total == 1


async def test_a_rate_limited_write_is_not_retried() -> None:
    clock = FakeClock()
    transport = Counting(status(429, **{"Retry-After": "1"}))
    async with backend_with(transport, clock=clock) as backend:
        with pytest.raises(ThemisRateLimited) as limited:
            await backend.put_document("users", "alice", {"name": "Alice"})
    assert limited.value.retry_after == 1.0
    assert (transport.total, clock.slept) == (1, [])


# --- the circuit breaker ------------------------------------------------------------------


async def reached(event: asyncio.Event, task: asyncio.Task[Any]) -> None:
    """Wait until `event` is set, failing (not hanging) if `task` ends first."""
    waiter = asyncio.create_task(event.wait())
    await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
    if not event.is_set():
        waiter.cancel()
        pytest.fail(f"the request ended before reaching the transport: {task.exception()!r}")


async def test_breaker_opens_after_threshold_and_then_fails_fast() -> None:
    clock = FakeClock()
    transport = Counting(connect_error)
    async with backend_with(transport, clock=clock, retries=0, threshold=3) as backend:
        for _ in range(3):
            with pytest.raises(ThemisUnavailable) as failure:
                await backend.get_document("users", "alice")
            assert not isinstance(failure.value, CircuitOpen)
        assert backend.state == "open"
        with pytest.raises(CircuitOpen) as fast:
            await backend.get_document("users", "alice")
        clock.now += 2.0
        with pytest.raises(CircuitOpen) as later:
            await backend.put_document("users", "alice", {})
        status_report = backend.status()
    assert transport.total == 3  # the open breaker did not touch the transport
    assert fast.value.retry_after == 5.0
    assert later.value.retry_after == 3.0
    assert "next attempt is allowed in 3.0s" in str(later.value)
    assert status_report["breaker"] == "open"
    assert status_report["consecutive_failures"] == 3


async def test_unwell_server_answers_open_the_breaker_but_4xx_and_plain_500_do_not() -> None:
    bad_request = Counting(status(400))
    async with backend_with(bad_request, retries=0, threshold=3) as backend:
        for _ in range(10):
            with pytest.raises(ThemisBadRequest):
                await backend.get_document("users", "alice")
        assert backend.state == "closed"
    # the real server answers 500 deterministically for some requests (a vector's entity)
    plain_500 = Counting(status(500))
    async with backend_with(plain_500, retries=0, threshold=3) as backend:
        for _ in range(10):
            with pytest.raises(ThemisServerError):
                await backend.get_document("users", "alice")
        assert backend.state == "closed"
    for unwell in (502, 503, 504):
        server_error = Counting(status(unwell))
        async with backend_with(server_error, retries=0, threshold=3) as backend:
            for _ in range(3):
                with pytest.raises(ThemisError):
                    await backend.get_document("users", "alice")
            assert backend.state == "open", unwell


async def test_half_open_probe_success_closes_the_breaker() -> None:
    clock = FakeClock()
    healthy = False

    def answer(request: httpx.Request) -> httpx.Response:
        return OK_DOCUMENT if healthy else connect_error(request)

    transport = Counting(answer)
    async with backend_with(transport, clock=clock, retries=0, threshold=2) as backend:
        for _ in range(2):
            with pytest.raises(ThemisUnavailable):
                await backend.get_document("users", "alice")
        clock.now += 5.0
        assert backend.state == "half-open"
        healthy = True
        assert await backend.get_document("users", "alice") == {"name": "Alice"}
        assert backend.state == "closed"
        assert await backend.get_document("users", "alice") == {"name": "Alice"}
    assert transport.total == 4


async def test_half_open_probe_failure_reopens_for_another_period() -> None:
    clock = FakeClock()
    transport = Counting(connect_error)
    async with backend_with(transport, clock=clock, retries=0, threshold=2) as backend:
        for _ in range(2):
            with pytest.raises(ThemisUnavailable):
                await backend.get_document("users", "alice")
        clock.now += 5.0
        with pytest.raises(ThemisUnavailable) as probe:
            await backend.get_document("users", "alice")
        assert not isinstance(probe.value, CircuitOpen)
        assert backend.state == "open"
        with pytest.raises(CircuitOpen) as fast:
            await backend.get_document("users", "alice")
    assert fast.value.retry_after == 5.0
    assert transport.total == 3


async def test_only_one_probe_goes_through_while_half_open() -> None:
    clock = FakeClock()
    entered, release = asyncio.Event(), asyncio.Event()
    failing = True

    async def slow_ok(request: httpx.Request) -> httpx.Response:
        if entered.is_set():
            raise AssertionError("a second request reached the transport while half-open")
        entered.set()
        await release.wait()
        return OK_DOCUMENT

    def answer(request: httpx.Request) -> httpx.Response | Awaitable[httpx.Response]:
        return connect_error(request) if failing else slow_ok(request)

    transport = Counting(answer)
    async with backend_with(transport, clock=clock, retries=0, threshold=1) as backend:
        with pytest.raises(ThemisUnavailable):
            await backend.get_document("users", "alice")
        clock.now += 5.0
        failing = False
        probe = asyncio.create_task(backend.get_document("users", "alice"))
        try:
            await reached(entered, probe)
            with pytest.raises(CircuitOpen, match="probe"):
                await backend.get_document("users", "bob")
        finally:
            release.set()
        assert await probe == {"name": "Alice"}
        assert backend.state == "closed"
    assert transport.total == 2


async def test_a_cancelled_probe_does_not_wedge_the_breaker() -> None:
    clock = FakeClock()
    never, probing = asyncio.Event(), asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        probing.set()
        await never.wait()
        raise AssertionError("unreachable")

    calls = iter([connect_error, hang, lambda _: OK_DOCUMENT])
    transport = Counting(lambda request: next(calls)(request))
    async with backend_with(transport, clock=clock, retries=0, threshold=1) as backend:
        with pytest.raises(ThemisUnavailable):
            await backend.get_document("users", "alice")
        clock.now += 5.0
        probe = asyncio.create_task(backend.get_document("users", "alice"))
        await reached(probing, probe)
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        assert await backend.get_document("users", "alice") == {"name": "Alice"}
    assert backend.state == "closed"


# --- real sockets -------------------------------------------------------------------------


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_server_that_never_answers_is_unavailable_after_the_read_timeout() -> None:
    async with (
        silent_server() as port,
        backend_with(url=f"http://127.0.0.1:{port}", retries=0, read_timeout=0.2) as backend,
    ):
        with pytest.raises(ThemisUnavailable, match=r"did not answer within 0.2s") as error:
            await backend.get_document("users", "alice")
    assert f"127.0.0.1:{port}" in str(error.value)


async def test_a_refused_connection_is_unavailable_and_opens_the_breaker() -> None:
    port = closed_port()
    async with backend_with(url=f"http://127.0.0.1:{port}", retries=0, threshold=2) as backend:
        for _ in range(2):
            with pytest.raises(ThemisUnavailable, match=r"cannot connect to ThemisDB at"):
                await backend.health()
        with pytest.raises(CircuitOpen):
            await backend.health()
        assert backend.state == "open"
