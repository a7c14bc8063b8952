"""One open WebSocket: who it is, and a bounded queue of frames waiting to be written.

Frames reach a connection two ways. Its own answers (search results, log records, status
updates) are `put`: the producer waits while the queue is full, so a client that reads
slowly slows its own search down. Frames from elsewhere (broadcasts, personal messages,
heartbeats) are `offer`ed: they never wait, and a connection whose queue is full is asked
to close with 1013 (try again later) and its queue is dropped — one slow client can
neither hold up a broadcast to a thousand others nor make the server's memory grow.

A single writer task drains the queue; the socket's own back-pressure (the transport
pausing writes) is what fills it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from litestar.connection import WebSocket
from litestar.types import WebSocketSendEvent

from themisgate import Identity

from .protocol import CLOSE_NORMAL, CLOSE_TRY_AGAIN

_ids = itertools.count(1)
_PREFIX = os.urandom(4).hex()

# (frame type, encoded frame)
Outgoing = tuple[str, str]


class Connection:
    __slots__ = (
        "_closing",
        "_frames",
        "_limit",
        "_ready",
        "_room",
        "client_id",
        "close_code",
        "close_reason",
        "connected_at",
        "endpoint",
        "id",
        "identity",
        "last_seen",
        "on_dropped",
        "on_sent",
        "peer_gone",
        "slow",
        "socket",
        "tasks",
    )

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        *,
        endpoint: str,
        identity: Identity,
        client_id: str,
        queue_size: int,
        on_sent: Callable[[str], None] | None = None,
        on_dropped: Callable[[], None] | None = None,
    ) -> None:
        self.socket = socket
        self.endpoint = endpoint
        self.identity = identity
        self.client_id = client_id
        self.id = f"{_PREFIX}{next(_ids):x}"
        self.on_sent = on_sent
        self.on_dropped = on_dropped
        self.connected_at = time.monotonic()
        self.last_seen = self.connected_at
        self.peer_gone = False
        self.slow = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.tasks: set[asyncio.Task[Any]] = set()
        self._frames: deque[Outgoing] = deque()
        self._limit = queue_size
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._closing = asyncio.Event()

    # --- queueing -----------------------------------------------------------------------

    @property
    def queued(self) -> int:
        return len(self._frames)

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def offer(self, kind: str, text: str) -> bool:
        """Queue a frame without waiting; a full queue drops this client (1013)."""
        if self._closing.is_set():
            return False
        if len(self._frames) >= self._limit:
            self.slow = True
            self._frames.clear()
            self.close(CLOSE_TRY_AGAIN, "try again later")
            if self.on_dropped is not None:
                self.on_dropped()
            return False
        self._frames.append((kind, text))
        self._ready.set()
        return True

    async def put(self, kind: str, text: str) -> None:
        """Queue a frame, waiting while the queue is full (the client's own answers)."""
        while len(self._frames) >= self._limit and not self._closing.is_set():
            self._room.clear()
            await self._room.wait()
        if self._closing.is_set():
            return
        self._frames.append((kind, text))
        self._ready.set()

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Ask for the connection to end: frames queued so far are still written (unless
        it is being dropped as slow), then the closing handshake with `code`."""
        if self._closing.is_set():
            return
        self.close_code = code
        self.close_reason = reason
        self._closing.set()
        self._ready.set()
        self._room.set()

    async def closing_requested(self) -> None:
        await self._closing.wait()

    # --- writing ------------------------------------------------------------------------

    async def write(self) -> None:
        """Write queued frames until closing is asked for and the queue is empty; raises
        when the client is gone."""
        frames = self._frames
        send = self.socket.send  # the ASGI send (Litestar's send_text adds only checks)
        on_sent = self.on_sent
        while True:
            while not frames:
                if self._closing.is_set():
                    return
                self._ready.clear()
                await self._ready.wait()
            kind, text = frames.popleft()
            self._room.set()
            message: WebSocketSendEvent = {"type": "websocket.send", "bytes": None, "text": text}
            await send(message)
            if on_sent is not None:
                on_sent(kind)
