"""Drive an ASGI app in process, without sockets: what a request costs the framework."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def http_scope(path: str, method: str = "GET") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def one_request(app: ASGIApp, path: str) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(http_scope(path), receive, send)
    return status


async def per_request_seconds(app: ASGIApp, path: str, requests: int, rounds: int) -> float:
    """Median over `rounds` of the mean time of `requests` sequential requests."""
    status = await one_request(app, path)
    if status != 200:
        raise SystemExit(f"{path} answered {status}, not 200")
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            await one_request(app, path)
        samples.append((time.perf_counter() - started) / requests)
    return statistics.median(samples)


async def with_lifespan(app: Any, body: Callable[[], Awaitable[Any]]) -> Any:
    """Run `body` while `app` is started (Litestar apps need their lifespan)."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()
    stopped = asyncio.Event()
    await queue.put({"type": "lifespan.startup"})

    async def receive() -> dict[str, Any]:
        return await queue.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()
        if message["type"].startswith("lifespan.shutdown"):
            stopped.set()

    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    )
    await started.wait()
    try:
        return await body()
    finally:
        await queue.put({"type": "lifespan.shutdown"})
        await stopped.wait()
        await task
