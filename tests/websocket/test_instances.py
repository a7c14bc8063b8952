"""Several real server processes sharing Redis: a broadcast or a personal message sent to
one instance reaches clients of the other, `user_disconnected` waits for the client's
last connection on any instance, and when Redis goes down each instance keeps serving its
own clients, says it is degraded, and reconnects by itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.processes import ServerProcess, running
from tests.support.redis import SHARED_REDIS, RedisServer

from .support import websocket_server

SEARCH = "/api/v4/ws/search"


@contextlib.contextmanager
def instances(
    tmp_path: Path, settings: dict[str, Any], count: int = 2
) -> Iterator[list[ServerProcess]]:
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(running(websocket_server(tmp_path / f"instance{n}", settings)))
            for n in range(count)
        ]
        yield servers


async def bus_ok(*servers: ServerProcess) -> list[bool]:
    """For each server: whether its bus reaches Redis."""
    async with httpx.AsyncClient(timeout=5) as http:
        answers = [await http.get(f"{s.url}/api/v4/ws/connections") for s in servers]
    return [a.json()["bus"] == "redis" and a.json()["bus_ok"] for a in answers]


async def eventually(
    condition: Callable[[], Awaitable[bool]], what: str, limit: float = 20
) -> None:
    deadline = time.monotonic() + limit
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {limit}s for {what}")
        await asyncio.sleep(0.05)


async def connected(*servers: ServerProcess) -> bool:
    return all(await bus_ok(*servers))


async def disconnected(*servers: ServerProcess) -> bool:
    return not any(await bus_ok(*servers))


@contextlib.asynccontextmanager
async def client(server: ServerProcess, client_id: str) -> AsyncIterator[ClientConnection]:
    url = server.url.replace("http://", "ws://") + f"{SEARCH}?client_id={client_id}"
    async with websockets.connect(url, open_timeout=10) as ws:
        hello = await frame(ws)
        assert hello["type"] == "connected"
        yield ws


async def frame(ws: ClientConnection, wait: float = 15) -> dict[str, Any]:
    """The next frame that is not a heartbeat."""
    while True:
        received = json.loads(await asyncio.wait_for(ws.recv(), wait))
        if received["type"] != "heartbeat":
            return dict(received)


async def pong(ws: ClientConnection, marker: str) -> None:
    """Everything sent to `ws` before this returns has arrived (frames are in order)."""
    await ws.send(json.dumps({"action": "ping", "id": marker}))
    got = await frame(ws)
    assert got == {"type": "pong", "ts": got["ts"], "id": marker}


async def test_a_broadcast_on_one_instance_reaches_clients_of_the_other(
    tmp_path: Path, prefix: str
) -> None:
    settings = {"redis_url": SHARED_REDIS, "redis_prefix": prefix}
    with instances(tmp_path, settings) as (one, two):
        await eventually(lambda: connected(one, two), "both instances to reach Redis")
        async with client(one, "alice") as alice, client(two, "bob") as bob:
            await alice.send(json.dumps({"action": "broadcast", "message": {"text": "hi"}}))
            expected = {"type": "broadcast", "from": "alice", "message": {"text": "hi"}}
            assert await frame(bob) == expected
            assert await frame(alice) == expected

            await alice.send(json.dumps({"action": "send", "to": "bob", "message": "psst"}))
            assert await frame(bob) == {"type": "message", "from": "alice", "message": "psst"}

            async with httpx.AsyncClient(timeout=5) as http:
                sent = await http.post(
                    f"{two.url}/api/v4/ws/clients/alice/messages", json={"message": 7}
                )
            assert sent.json() == {"delivered_here": 0, "bus": "redis"}
            assert await frame(alice) == {"type": "message", "from": "server", "message": 7}


async def test_user_disconnected_waits_for_the_last_connection_on_any_instance(
    tmp_path: Path, prefix: str
) -> None:
    settings = {"redis_url": SHARED_REDIS, "redis_prefix": prefix}
    with instances(tmp_path, settings) as (one, two):
        await eventually(lambda: connected(one, two), "both instances to reach Redis")
        async with client(one, "watcher") as watcher:
            async with client(one, "bob") as bob_here:
                async with client(two, "bob"):
                    await pong(bob_here, "both-open")
                # bob is still connected to the first instance: nobody is told
                await pong(watcher, "bob-still-here")
            assert await frame(watcher) == {"type": "user_disconnected", "client_id": "bob"}


async def test_without_redis_each_instance_serves_its_own_and_recovers(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    settings = {
        "redis_url": redis_server.url,
        "redis_prefix": "outage",
        "redis_timeout_seconds": 0.5,
        "presence_ttl_seconds": 3,
    }
    with instances(tmp_path, settings) as (one, two):
        await eventually(lambda: connected(one, two), "both instances to reach Redis")
        redis_server.kill()
        await eventually(lambda: disconnected(one, two), "both to notice Redis is gone")

        async with httpx.AsyncClient(timeout=5) as http:
            ready = await http.get(f"{one.url}/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        (check,) = [c for c in ready.json()["checks"] if c["name"] == "websocket"]
        assert not check["ok"]
        assert "this instance's clients only" in check["detail"]

        async with client(one, "local-a") as a, client(one, "local-b") as b:
            await a.send(json.dumps({"action": "broadcast", "message": "still here"}))
            assert await frame(b) == {
                "type": "broadcast",
                "from": "local-a",
                "message": "still here",
            }

            redis_server.start()  # same port
            await eventually(lambda: connected(one, two), "both to reconnect to Redis", 30)
            async with client(two, "remote") as remote:
                await a.send(json.dumps({"action": "broadcast", "message": "across again"}))
                assert await frame(remote) == {
                    "type": "broadcast",
                    "from": "local-a",
                    "message": "across again",
                }
