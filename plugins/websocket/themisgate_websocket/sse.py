"""Server-Sent Events twins of the one-way streams, for clients that need no WebSocket:
`/api/v4/events/status` and `/api/v4/events/logs` (`text/event-stream`).

Every event has an `id:`; a comment line (`: heartbeat`) goes out when nothing else has
for `sse_heartbeat_seconds`, so proxies keep quiet streams open. The log stream resumes
after the `Last-Event-ID` a reconnecting `EventSource` sends, from the records kept in
memory (`log_buffer_size`); the status stream starts with the current status instead.
When a stream ends, `sse_stream` is emitted once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Stream

from themisgate import Ctx, ProblemError
from themisgate import problem_responses as problems

from .credentials import OPT_KEY
from .logstream import LogStream, parse_level
from .protocol import LogsDropped, encode
from .runtime import WebSocketRuntime, runtime_for

STATUS_EVENTS = "/api/v4/events/status"
LOG_EVENTS = "/api/v4/events/logs"
EVENT_STREAM = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
RETRY = b"retry: 3000\n\n"
HEARTBEAT = b": heartbeat\n\n"

# (chunk, whether it is an event rather than a comment or a field)
Chunk = tuple[bytes, bool]


@get(
    STATUS_EVENTS,
    opt={"scope": "read", OPT_KEY: True},
    tags=["events"],
    media_type=EVENT_STREAM,
    responses=problems(401, 403, 429),
)
async def status_events(ctx: Ctx) -> Stream:
    """The adapter's status as Server-Sent Events: `event: status`, the same JSON as the
    WebSocket's status frames, every `status_interval_seconds` and at once on a change."""
    runtime = runtime_for(ctx)
    return _stream(runtime, STATUS_EVENTS, _status(runtime))


@get(
    LOG_EVENTS,
    opt={"scope": "admin", OPT_KEY: True},
    tags=["events"],
    media_type=EVENT_STREAM,
    responses=problems(401, 403, 422, 429),
)
async def log_events(
    ctx: Ctx, request: Request[Any, Any, Any], log_level: FromQuery[str] = "INFO"
) -> Stream:
    """Live log records at or above `log_level` as Server-Sent Events (`event: log`, the
    record as JSON); after a reconnect, what was missed since `Last-Event-ID`."""
    runtime = runtime_for(ctx)
    level = parse_level(log_level)
    if level is None:
        raise ProblemError(
            422,
            "log_level: one of debug, info, warning, error, critical",
            slug="validation-error",
            errors=[{"field": "log_level", "source": "query", "message": "not a log level"}],
        )
    last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    return _stream(runtime, LOG_EVENTS, _logs(runtime.logs, level, last, runtime))


def _stream(runtime: WebSocketRuntime, endpoint: str, chunks: AsyncIterator[Chunk]) -> Stream:
    return Stream(_counted(runtime, endpoint, chunks), media_type=EVENT_STREAM, headers=HEADERS)


async def _counted(
    runtime: WebSocketRuntime, endpoint: str, chunks: AsyncIterator[Chunk]
) -> AsyncIterator[bytes]:
    started = time.monotonic()
    events = 0
    try:
        async for chunk, is_event in chunks:
            yield chunk
            if is_event:
                events += 1
    finally:
        runtime.ctx.emit(
            "sse_stream",
            {
                "endpoint": endpoint,
                "events": events,
                "duration_seconds": time.monotonic() - started,
            },
        )


def _event(event_id: str, event: str, data: str) -> bytes:
    return f"id: {event_id}\nevent: {event}\ndata: {data}\n\n".encode()


async def _status(runtime: WebSocketRuntime) -> AsyncIterator[Chunk]:
    feed = runtime.status
    interval = runtime.config.status_interval_seconds
    beat = runtime.config.sse_heartbeat_seconds
    clock = time.monotonic
    sent = 0
    async with feed.subscription():
        yield RETRY, False
        last = feed.health
        sent += 1
        yield _event(str(sent), "status", encode(feed.frame("initial"))), True
        deadline = clock() + interval
        next_beat = clock() + beat
        while True:
            if feed.health == last:
                wait = min(deadline, next_beat) - clock()
                if wait > 0:
                    await feed.changed(wait)
            now = clock()
            if feed.health != last:
                reason = "change"
            elif now >= deadline:
                reason = "interval"
            else:
                if now >= next_beat:
                    yield HEARTBEAT, False
                    next_beat = now + beat
                continue
            last = feed.health
            sent += 1
            yield _event(str(sent), "status", encode(feed.frame(reason))), True
            deadline = now + interval
            next_beat = now + beat


async def _logs(
    logs: LogStream, level: int, last_event_id: str | None, runtime: WebSocketRuntime
) -> AsyncIterator[Chunk]:
    beat = runtime.config.sse_heartbeat_seconds
    with logs.subscribe(level) as subscription:
        yield RETRY, False  # the first bytes: from here on, nothing logged is missed
        for entry in logs.since(last_event_id, level):
            yield _event(logs.event_id(entry), "log", entry.record), True
        while True:
            entries = await subscription.next(wait=beat)
            for entry in entries:
                yield _event(logs.event_id(entry), "log", entry.record), True
            dropped = subscription.take_dropped()
            if dropped:
                notice = encode(LogsDropped(dropped=dropped))
                yield f"event: logs_dropped\ndata: {notice}\n\n".encode(), True
            if not entries and not dropped:
                yield HEARTBEAT, False


ROUTES = [status_events, log_events]
