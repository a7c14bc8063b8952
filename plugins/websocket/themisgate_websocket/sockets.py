"""The life of one WebSocket, whatever the endpoint: admission (identity, scope, client
id, connection limit), then three tasks — the reader, the writer and the endpoint's own
producer (a log or status feed) — until the client leaves or the server closes it.

Refusals are answered after accepting the handshake, with an error frame and a close
code a browser can see (an HTTP refusal of the handshake is invisible to JavaScript):
4401 without valid credentials, 4403 without the scope, 1008 for the client id or the
connection limit. Closing writes what is queued first, except for a slow consumer, whose
queue is dropped; a client that does not read the closing handshake is given
`close_timeout_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from litestar.connection import WebSocket
from litestar.exceptions import WebSocketDisconnect

from themisgate import Identity, ProblemError

from .actions import Dispatcher
from .connection import Connection
from .credentials import chosen_subprotocol
from .protocol import (
    CLIENT_ID,
    CLIENT_ID_TAKEN,
    CLOSE_FORBIDDEN,
    CLOSE_INTERNAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHORIZED,
    FORBIDDEN,
    INVALID_FIELD,
    TOO_LARGE,
    TOO_MANY_CONNECTIONS,
    UNAUTHORIZED,
    Connected,
    Error,
    encode,
)
from .runtime import WebSocketRuntime

log = structlog.get_logger("themisgate.websocket")

_SCHEME_OF_KIND = {"api_key": "api_key", "user": "jwt", "ip": "none"}

Producer = Callable[[Connection], Coroutine[Any, Any, None]]


async def admit(
    runtime: WebSocketRuntime,
    socket: WebSocket[Any, Any, Any],
    endpoint: str,
    scope: str,
    client_id: str | None = None,
) -> Connection | None:
    """Accept the handshake and register the connection, or refuse it (None)."""
    ctx = runtime.ctx
    try:
        identity = await ctx.identify(socket)
    except ProblemError as problem:
        code = CLOSE_FORBIDDEN if problem.status_code == 403 else CLOSE_UNAUTHORIZED
        kind = FORBIDDEN if problem.status_code == 403 else UNAUTHORIZED
        await refuse(socket, code, Error(code=kind, message=problem.detail))
        return None
    if not identity.allows(scope):
        await _refuse_scope(runtime, socket, identity, scope)
        return None
    hub = runtime.hub
    if client_id is None:
        client_id = uuid.uuid4().hex
    elif not CLIENT_ID.match(client_id):
        error = Error(
            code=INVALID_FIELD,
            message="client_id: 1-128 letters, digits and _ . : @ -",
            field="client_id",
        )
        await refuse(socket, CLOSE_POLICY, error)
        return None
    if not hub.has_room(identity.key):
        limit = runtime.config.max_connections_per_identity
        message = f"at most {limit} connections per caller; close one first"
        await refuse(socket, CLOSE_POLICY, Error(code=TOO_MANY_CONNECTIONS, message=message))
        return None
    owner = hub.owner_of(client_id)
    if owner is not None and owner != identity.key:
        message = "this client_id is in use by another caller; choose another"
        error = Error(code=CLIENT_ID_TAKEN, message=message, field="client_id")
        await refuse(socket, CLOSE_POLICY, error)
        return None
    await socket.accept(subprotocols=chosen_subprotocol(socket.scope))
    connection = Connection(
        socket,
        endpoint=endpoint,
        identity=identity,
        client_id=client_id,
        queue_size=runtime.config.send_queue_size,
        on_sent=runtime.sent_observer(endpoint),
        on_dropped=hub.dropped,
    )
    hub.add(connection)
    return connection


async def _refuse_scope(
    runtime: WebSocketRuntime, socket: WebSocket[Any, Any, Any], identity: Identity, scope: str
) -> None:
    ctx = runtime.ctx
    if identity.anonymous:
        ctx.emit("auth_failed", {"reason": "missing_credentials", "scheme": "none"})
        message = f"this endpoint needs the {scope!r} scope; send credentials"
        await refuse(socket, CLOSE_UNAUTHORIZED, Error(code=UNAUTHORIZED, message=message))
        return
    scheme = _SCHEME_OF_KIND.get(identity.kind, identity.kind)
    ctx.emit("auth_failed", {"reason": "insufficient_scope", "scheme": scheme})
    message = f"{identity.kind} {identity.id!r} lacks the {scope!r} scope this endpoint needs"
    await refuse(socket, CLOSE_FORBIDDEN, Error(code=FORBIDDEN, message=message))


async def refuse(socket: WebSocket[Any, Any, Any], code: int, error: Error) -> None:
    with contextlib.suppress(WebSocketDisconnect, OSError):
        await socket.accept(subprotocols=chosen_subprotocol(socket.scope))
        await socket.send_text(encode(error))
        await socket.close(code, error.code)


def connected_frame(runtime: WebSocketRuntime, connection: Connection, actions: list[str]) -> str:
    config = runtime.config
    return encode(
        Connected(
            client_id=connection.client_id,
            connection_id=connection.id,
            instance=runtime.instance,
            heartbeat_seconds=config.heartbeat_seconds,
            idle_timeout_seconds=config.idle_timeout_seconds,
            max_message_bytes=config.max_message_bytes,
            actions=actions,
        )
    )


async def serve(
    runtime: WebSocketRuntime,
    connection: Connection,
    dispatcher: Dispatcher,
    producer: Producer | None = None,
) -> None:
    """Run the connection to its end; the hub forgets it and `ws_disconnected` is sent
    whatever happens."""
    ctx = runtime.ctx
    ctx.emit("ws_connected", {"endpoint": connection.endpoint})
    writer = asyncio.create_task(connection.write())
    reader = asyncio.create_task(read(runtime, connection, dispatcher))
    closing = asyncio.create_task(connection.closing_requested())
    tasks = {writer, reader, closing}
    if producer is not None:
        tasks.add(asyncio.create_task(producer(connection)))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            _note_failure(connection, task)
        await _finish(runtime, connection, writer, tasks - {writer})
    finally:
        pending = {*tasks, *connection.tasks}
        for task in pending:
            task.cancel()
        # let them unwind (a search leaves its observed operation) and collect their ends
        await asyncio.wait(pending, timeout=runtime.config.close_timeout_seconds)
        for task in pending:
            if task.done() and not task.cancelled():
                task.exception()
        runtime.hub.remove(connection)
        ctx.emit(
            "ws_disconnected",
            {
                "endpoint": connection.endpoint,
                "duration_seconds": time.monotonic() - connection.connected_at,
                "code": connection.close_code or 1005,
            },
        )


def _note_failure(connection: Connection, task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is None:
        return
    if isinstance(error, WebSocketDisconnect | OSError):
        connection.peer_gone = True
        return
    log.error(
        "websocket connection failed",
        endpoint=connection.endpoint,
        exc_info=(type(error), error, error.__traceback__),
    )
    connection.close(CLOSE_INTERNAL, "internal error")


async def _finish(
    runtime: WebSocketRuntime,
    connection: Connection,
    writer: asyncio.Task[None],
    others: set[asyncio.Task[Any]],
) -> None:
    for task in others:
        task.cancel()
    if connection.peer_gone:
        writer.cancel()
        return
    connection.close()  # keeps the code of an earlier request
    timeout = runtime.config.close_timeout_seconds
    if connection.slow:
        writer.cancel()
    else:  # write what is queued: the error frame that explains the close, typically
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.wait({writer})
        writer.cancel()
        if writer.done() and not writer.cancelled() and writer.exception() is not None:
            _note_failure(connection, writer)
            return  # the client went away while we wrote
    with contextlib.suppress(WebSocketDisconnect, OSError, TimeoutError):
        async with asyncio.timeout(timeout):
            await connection.socket.close(connection.close_code or 1000, connection.close_reason)


async def read(runtime: WebSocketRuntime, connection: Connection, dispatcher: Dispatcher) -> None:
    """Receive until the client leaves or sends something too large."""
    receive = connection.socket.receive
    limit = runtime.config.max_message_bytes
    handle = dispatcher.handle
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            connection.peer_gone = True
            if connection.close_code is None:
                connection.close_code = int(event.get("code") or 1005)
            return
        connection.last_seen = time.monotonic()
        text = event.get("text")
        binary = event.get("bytes")
        data: str | bytes = text if isinstance(text, str) else (binary or b"")  # type: ignore[assignment]
        size = len(data) if isinstance(data, bytes) or data.isascii() else len(data.encode())
        if size > limit:
            message = f"a message may hold at most {limit} bytes; this one held {size}"
            await connection.put(
                "error", encode(Error(code=TOO_LARGE, message=message, max_bytes=limit))
            )
            connection.close(CLOSE_TOO_BIG, "message too big")
            return
        await handle(connection, data)
