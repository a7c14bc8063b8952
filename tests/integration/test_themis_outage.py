"""ThemisDB goes away and comes back: clients get a 503 problem with Retry-After within the
timeout, readiness says so, and the server recovers by itself, without a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.support.processes import themis_lite
from themisgate.testing import plugin_client

DOC = "/api/v4/themis/documents/books/b1"


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("condition not reached in time")


async def test_outage_is_a_fast_503_and_recovery_needs_no_restart(tmp_path: Path) -> None:
    lite = themis_lite(tmp_path, tmp_path / "themis.sqlite")
    lite.start()
    settings = {
        "core": {
            "themis": {
                "backend": "http",
                "url": lite.url,
                "connect_timeout": 0.5,
                "read_timeout": 2.0,
                "breaker_threshold": 2,
                "breaker_reset_seconds": 1.0,
            }
        }
    }
    try:
        async with plugin_client(settings=settings) as client:
            assert (await client.put(DOC, json={"title": "Dune"})).status_code == 200
            assert (await client.get("/ready")).status_code == 200

            lite.stop()
            for _ in range(4):  # connection refused, then the open circuit
                started = time.monotonic()
                response = await client.get(DOC)
                elapsed = time.monotonic() - started
                assert response.status_code == 503
                assert response.headers["content-type"].startswith("application/problem+json")
                assert int(response.headers["retry-after"]) >= 1
                assert response.json()["type"] == "urn:themisgate:problem:themis-unavailable"
                assert elapsed < 3 * 2.0  # bounded by the timeouts, never a hang
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["status"] == "unavailable"

            lite.start()

            async def document_is_back() -> bool:
                return (await client.get(DOC)).status_code == 200

            await wait_until(document_is_back)
            assert (await client.get(DOC)).json()["document"] == {"title": "Dune"}
            assert (await client.get("/ready")).status_code == 200
    finally:
        lite.stop()
