"""The SSE twins over a real socket (uvicorn): `text/event-stream`, an `id:` on every
event, heartbeat comments, the status at once on a change, log records resumed after
`Last-Event-ID`, and one `sse_stream` event when a stream ends."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog

from tests.support.processes import served
from themisgate.themis import ThemisUnavailable

from .support import Recorder, websocket_app

STATUS = "/api/v4/events/status"
LOGS = "/api/v4/events/logs"


class Events:
    """Reads a `text/event-stream` body line by line into events and comments."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()
        self.comments: list[str] = []
        self.retry: str | None = None

    async def next(self, wait: float = 10) -> dict[str, Any]:
        """The next event (comments and fields without data are noted on the way)."""
        fields: dict[str, Any] = {}
        async with asyncio.timeout(wait):
            async for line in self.lines:
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line.startswith("retry:"):
                    self.retry = line.split(":", 1)[1].strip()
                elif line == "":
                    if "data" in fields:
                        fields["data"] = json.loads(fields["data"])
                        return fields
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.strip()
        raise AssertionError("the stream ended")

    async def comment(self, wait: float = 10) -> str:
        async with asyncio.timeout(wait):
            while not self.comments:
                line = await anext(self.lines)
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
        return self.comments.pop(0)

    async def subscribed(self, wait: float = 10) -> None:
        """Wait for the stream's first bytes (`retry:`), sent once it is subscribed."""
        async with asyncio.timeout(wait):
            while self.retry is None:
                line = await anext(self.lines)
                if line.startswith("retry:"):
                    self.retry = line.split(":", 1)[1].strip()


@contextlib.asynccontextmanager
async def stream(url: str, **headers: str) -> AsyncIterator[Events]:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=30)) as http,
        http.stream("GET", url, headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        yield Events(response)


async def test_the_status_stream_sends_events_with_ids_and_repeats_them() -> None:
    app = websocket_app(status_interval_seconds=0.2, status_poll_seconds=0.1)
    async with served(app) as base, stream(base + STATUS) as events:
        assert events.response.headers["content-type"].startswith("text/event-stream")
        assert events.response.headers["cache-control"] == "no-cache"
        first = await events.next()
        second = await events.next()
    assert events.retry == "3000"
    assert (first["id"], first["event"]) == ("1", "status")
    assert first["data"]["type"] == "status"
    assert first["data"]["reason"] == "initial"
    assert first["data"]["adapters"][0]["available"] is True
    assert (second["id"], second["data"]["reason"]) == ("2", "interval")


async def test_quiet_streams_get_heartbeat_comments() -> None:
    app = websocket_app(status_interval_seconds=3600, sse_heartbeat_seconds=0.1)
    async with served(app) as base, stream(base + STATUS) as events:
        await events.next()
        assert await events.comment() == "heartbeat"
        assert await events.comment() == "heartbeat"


async def test_a_change_of_status_is_an_event_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    app = websocket_app(status_interval_seconds=3600, status_poll_seconds=0.05)
    adapter = app.state["themisgate"].adapter

    async def unreachable() -> Any:
        raise ThemisUnavailable("ThemisDB does not answer")

    async with served(app) as base, stream(base + STATUS) as events:
        assert (await events.next())["data"]["adapters"][0]["available"] is True
        monkeypatch.setattr(adapter, "health", unreachable)
        changed = await events.next()
    assert changed["id"] == "2"
    assert changed["data"]["reason"] == "change"
    assert changed["data"]["adapters"][0]["available"] is False


async def test_log_events_resume_after_the_last_event_id(logging_on: io.StringIO) -> None:
    recorder = Recorder()
    log = structlog.get_logger("test.sse")
    async with served(websocket_app(recorder)) as base:
        async with stream(base + LOGS + "?log_level=warning") as events:
            await events.subscribed()
            log.info("not for this stream")
            log.warning("first", n=1)
            first = await events.next()
        log.warning("while away", n=2)
        log.error("still away", n=3)
        async with stream(
            base + LOGS + "?log_level=warning", **{"Last-Event-ID": first["id"]}
        ) as events:
            missed = [await events.next(), await events.next()]
            await events.subscribed()
            log.warning("live again", n=4)
            live = await events.next()
        await _until(lambda: len(recorder.named("sse_stream")) == 2)

    assert first["event"] == "log"
    assert first["data"]["event"] == "first"
    assert first["data"]["level"] == "warning"
    assert [m["data"]["n"] for m in missed] == [2, 3]
    assert [m["event"] for m in missed] == ["log", "log"]
    assert live["data"]["n"] == 4
    ids = [first["id"], *(m["id"] for m in missed), live["id"]]
    assert len(set(ids)) == 4
    ended = recorder.named("sse_stream")
    assert {e["endpoint"] for e in ended} == {LOGS}
    counts = [e["events"] for e in ended]
    # the second stream sent 3; the first at least its one (the server may write a record
    # or two more before it notices the client has gone)
    assert 3 in counts
    assert min(counts) >= 1
    assert all(e["duration_seconds"] > 0 for e in ended)


async def _until(condition: Any, limit: float = 10) -> None:
    for _ in range(int(limit / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"waited {limit}s")
