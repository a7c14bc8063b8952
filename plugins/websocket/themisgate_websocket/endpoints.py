"""The three WebSocket endpoints: messaging and streaming search, the adapter's status,
and the live log (admin only). docs/websocket-protocol.md describes every frame."""

from __future__ import annotations

import time
from typing import Any

from litestar import WebSocket, websocket

from themisgate import Ctx

from .actions import Dispatcher
from .connection import Connection
from .credentials import OPT_KEY
from .logstream import Entry, LogStream, parse_level
from .protocol import (
    BUILTIN_ACTIONS,
    CLOSE_POLICY,
    INVALID_FIELD,
    STREAM_ACTIONS,
    Error,
    LogsDropped,
    encode,
)
from .runtime import WebSocketRuntime, runtime_for
from .sockets import admit, connected_frame, refuse, serve

SEARCH_PATH = "/api/v4/ws/search"
STATUS_PATH = "/api/v4/ws/adapter/status"
LOGS_PATH = "/api/v4/ws/logs"
OPT = {OPT_KEY: True}


@websocket(SEARCH_PATH, opt=OPT)
async def search_socket(socket: WebSocket[Any, Any, Any], ctx: Ctx) -> None:
    """Search, ping, broadcast and personal messages; `?client_id=` names the client."""
    runtime = runtime_for(ctx)
    client_id = socket.query_params.get("client_id") or None
    connection = await admit(runtime, socket, SEARCH_PATH, "read", client_id)
    if connection is None:
        return
    hub = runtime.hub
    actions = [*BUILTIN_ACTIONS, *runtime.actions]
    connection.offer("connected", connected_frame(runtime, connection, actions))
    await hub.join(connection)
    try:
        await serve(runtime, connection, _dispatcher(runtime, SEARCH_PATH, streams=False))
    finally:
        await hub.leave(connection)


@websocket(STATUS_PATH, opt=OPT)
async def status_socket(socket: WebSocket[Any, Any, Any], ctx: Ctx) -> None:
    """The adapter's status every `status_interval_seconds`, and at once on a change."""
    runtime = runtime_for(ctx)
    connection = await admit(runtime, socket, STATUS_PATH, "read")
    if connection is None:
        return
    actions = [*STREAM_ACTIONS, *runtime.actions]
    connection.offer("connected", connected_frame(runtime, connection, actions))

    async def produce(connection: Connection) -> None:
        await stream_status(runtime, connection)

    await serve(runtime, connection, _dispatcher(runtime, STATUS_PATH, streams=True), produce)


@websocket(LOGS_PATH, opt=OPT)
async def logs_socket(socket: WebSocket[Any, Any, Any], ctx: Ctx) -> None:
    """Live log records at or above `?log_level=` (default INFO); admin scope."""
    runtime = runtime_for(ctx)
    level = parse_level(socket.query_params.get("log_level"))
    if level is None:
        message = "log_level: one of debug, info, warning, error, critical"
        error = Error(code=INVALID_FIELD, message=message, field="log_level")
        await refuse(socket, CLOSE_POLICY, error)
        return
    connection = await admit(runtime, socket, LOGS_PATH, "admin")
    if connection is None:
        return
    since = socket.query_params.get("last_event_id")
    actions = [*STREAM_ACTIONS, *runtime.actions]
    logs = runtime.logs
    # subscribed before `connected` is sent: a record logged after it reaches the client
    with logs.subscribe(level) as subscription:
        missed = logs.since(since, level)
        connection.offer("connected", connected_frame(runtime, connection, actions))

        async def produce(connection: Connection) -> None:
            for entry in missed:
                await connection.put("log", log_frame(logs, entry))
            while True:
                entries = await subscription.next()
                for entry in entries:
                    await connection.put("log", log_frame(logs, entry))
                dropped = subscription.take_dropped()
                if dropped:
                    await connection.put("logs_dropped", encode(LogsDropped(dropped=dropped)))

        dispatcher = _dispatcher(runtime, LOGS_PATH, streams=True)
        await serve(runtime, connection, dispatcher, produce)


def log_frame(logs: LogStream, entry: Entry) -> str:
    return f'{{"type":"log","id":"{logs.event_id(entry)}","record":{entry.record}}}'


async def stream_status(runtime: WebSocketRuntime, connection: Connection) -> None:
    feed = runtime.status
    interval = runtime.config.status_interval_seconds
    async with feed.subscription():
        last = feed.health
        await connection.put("status", encode(feed.frame("initial")))
        deadline = time.monotonic() + interval
        while True:
            if feed.health == last:
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    await feed.changed(remaining)
            if feed.health != last:
                reason = "change"
            elif time.monotonic() >= deadline:
                reason = "interval"
            else:
                continue
            last = feed.health
            await connection.put("status", encode(feed.frame(reason)))
            deadline = time.monotonic() + interval


def _dispatcher(runtime: WebSocketRuntime, endpoint: str, *, streams: bool) -> Dispatcher:
    """One per app and endpoint, built on first use."""
    found = runtime.dispatchers.get(endpoint)
    if found is None:
        found = runtime.dispatchers[endpoint] = Dispatcher(runtime, endpoint, streams=streams)
    return found


ROUTES = [search_socket, status_socket, logs_socket]
