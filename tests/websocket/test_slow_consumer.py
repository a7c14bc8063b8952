"""A client that stops reading cannot make the server hold its broadcasts: once its small
queue is full it is dropped with 1013 (try again later), everyone else still gets every
frame, and the server's memory stays where it was however much is broadcast."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.processes import running

from .support import rss_bytes, websocket_server

SEARCH = "/api/v4/ws/search"
FRAME_BYTES = 60_000  # random, so compression does not shrink it
BROADCASTS = 1000  # 60 MB: far more than the server may keep for one client
# what the server's memory may grow by meanwhile (allocator slack, not 60 MB of frames)
GROWTH_LIMIT = 24 * 1024 * 1024


@contextlib.asynccontextmanager
async def slow_client(url: str) -> AsyncIterator[ClientConnection]:
    """A client that stops reading after the `connected` frame: a small receive buffer,
    and the library stops taking data off the socket once one message is waiting."""
    host, port = url.removeprefix("ws://").split("/", 1)[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    async with websockets.connect(
        url, sock=sock, max_queue=1, ping_interval=None, open_timeout=10, max_size=None
    ) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "connected"
        yield ws


async def read_broadcasts(ws: ClientConnection, seen: list[int]) -> None:
    async for message in ws:
        frame = json.loads(message)
        if frame["type"] == "broadcast":
            seen.append(frame["message"]["n"])


async def connections(http: httpx.AsyncClient, base: str) -> dict[str, Any]:
    response = await http.get(f"{base}/api/v4/ws/connections")
    return dict(response.json())


async def test_a_client_that_does_not_read_is_dropped_and_memory_stays_bounded(
    tmp_path: Path,
) -> None:
    settings = {"send_queue_size": 8, "heartbeat_seconds": 0, "close_timeout_seconds": 60}
    with running(websocket_server(tmp_path, settings)) as server:
        assert server.process is not None
        base = server.url
        ws_url = base.replace("http://", "ws://") + SEARCH
        padding = base64.b64encode(os.urandom(FRAME_BYTES * 3 // 4)).decode()
        seen: list[int] = []
        async with (
            httpx.AsyncClient(timeout=30) as http,
            slow_client(ws_url + "?client_id=slow") as slow,
            websockets.connect(ws_url + "?client_id=reader", max_size=None) as reader,
        ):
            reading = asyncio.create_task(read_broadcasts(reader, seen))
            for _ in range(20):  # warm up: allocations the server keeps anyway
                await http.post(f"{base}/api/v4/ws/broadcast", json={"message": {"n": -1}})
            before = rss_bytes(server.process.pid)

            for n in range(BROADCASTS):
                sent = await http.post(
                    f"{base}/api/v4/ws/broadcast", json={"message": {"n": n, "pad": padding}}
                )
                assert sent.status_code == 202
            after = rss_bytes(server.process.pid)
            facts = await connections(http, base)
            assert after - before < GROWTH_LIMIT, f"grew by {(after - before) / 2**20:.1f} MiB"
            assert facts["dropped_slow_consumers"] == 1
            assert facts["queued_frames"] <= settings["send_queue_size"]  # the reader's, if any

            for _ in range(1200):  # until the reader has them all (at most a minute)
                if len([n for n in seen if n >= 0]) == BROADCASTS:
                    break
                await asyncio.sleep(0.05)
            reading.cancel()

            # the slow client reads at last: what was on the wire, then the close
            with contextlib.suppress(websockets.ConnectionClosed):
                async with asyncio.timeout(60):
                    async for _ in slow:
                        pass
            code, reason = slow.close_code, slow.close_reason

    assert [n for n in seen if n >= 0] == list(range(BROADCASTS))
    assert code == 1013
    assert reason == "try again later"
