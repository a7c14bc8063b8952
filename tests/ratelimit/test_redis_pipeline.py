"""Decisions pipelined onto few connections: one write per turn of the event loop, each
reply to its own command, an error reply failing only its command, a waiting batch
served when a connection frees, and exact limits under many concurrent decisions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.exceptions import ResponseError

from themisgate_ratelimit import Config, Policy, RedisStore, parse_rate
from themisgate_ratelimit.redis_pipeline import PipelinedConnections

from .conftest import RedisServer


@pytest.fixture
async def store(prefix: str) -> AsyncIterator[RedisStore]:
    config = Config(storage="redis://127.0.0.1:6379/0", key_prefix=prefix, max_connections=2)
    store = RedisStore(config)
    await store.start()
    yield store
    await store.stop()


def connections(store: RedisStore) -> PipelinedConnections:
    assert store.connections is not None
    return store.connections


def count_writes(pipeline: PipelinedConnections) -> list[int]:
    """Wrap each connection's send to count writes."""
    writes: list[int] = []
    for connection in pipeline.all:
        send = connection.send_packed_command

        async def counted(command: Any, check_health: bool = True, send: Any = send) -> None:
            writes.append(1)
            await send(command, check_health=check_health)

        connection.send_packed_command = counted  # type: ignore[method-assign]
    return writes


async def test_commands_of_one_turn_share_one_write_and_get_their_own_replies(
    store: RedisStore,
) -> None:
    pipeline = connections(store)
    writes = count_writes(pipeline)
    replies = await asyncio.gather(*(pipeline.call("ECHO", f"m{i}") for i in range(200)))
    assert replies == [f"m{i}".encode() for i in range(200)]
    assert len(writes) == 1


async def test_batches_waiting_for_a_connection_go_out_together_in_order(
    store: RedisStore,
) -> None:
    pipeline = connections(store)
    writes = count_writes(pipeline)

    async def wave(n: int) -> list[Any]:
        await asyncio.sleep(0)  # a later turn of the loop: its own batch
        return list(await asyncio.gather(*(pipeline.call("ECHO", f"{n}-{i}") for i in range(20))))

    waves = await asyncio.gather(*(wave(n) for n in range(6)))
    for n, replies in enumerate(waves):
        assert replies == [f"{n}-{i}".encode() for i in range(20)]
    assert len(writes) < 6  # waves that found both connections busy were merged
    assert sorted(pipeline.idle, key=id) == sorted(pipeline.all, key=id)


async def test_an_error_reply_fails_only_its_own_command(store: RedisStore) -> None:
    pipeline = connections(store)
    results = await asyncio.gather(
        pipeline.call("ECHO", "before"),
        pipeline.call("NO-SUCH-COMMAND"),
        pipeline.call("ECHO", "after"),
        return_exceptions=True,
    )
    assert results[0] == b"before"
    assert isinstance(results[1], ResponseError)
    assert results[2] == b"after"
    assert await pipeline.call("PING")  # the connection is still good


async def test_a_caller_that_gave_up_does_not_disturb_the_others(store: RedisStore) -> None:
    pipeline = connections(store)
    abandoned = asyncio.ensure_future(pipeline.call("ECHO", "gone"))
    kept = asyncio.ensure_future(pipeline.call("ECHO", "kept"))
    await asyncio.sleep(0)
    abandoned.cancel()
    assert await kept == b"kept"
    assert await pipeline.call("ECHO", "next") == b"next"  # replies still line up


async def test_concurrent_decisions_for_one_caller_allow_exactly_the_limit(
    store: RedisStore,
) -> None:
    policies = [Policy.build("burst", "k:burst", parse_rate("25/hour"))]
    verdicts = await asyncio.gather(*(store.charge("user:many", policies) for _ in range(100)))
    assert sum(v.allowed for v in verdicts) == 25


def test_commands_are_packed_as_redis_py_would_pack_them() -> None:
    from redis.asyncio.connection import Connection

    from themisgate_ratelimit.redis_pipeline import pack

    command = ("EVALSHA", "ab" * 20, 2, "rl:{ip:1}:k:s", "rl:{ip:1}:k:é", 1, 100_000, b"raw")
    assert pack(command) == b"".join(Connection().pack_command(*command))


async def test_a_redis_that_stalls_fails_the_batch_within_the_timeout(
    redis_server: RedisServer,
) -> None:
    """A stalled server (SIGSTOP) answers nothing: the batch fails at its deadline, the
    connection is dropped, and the next batch after it wakes up is answered."""
    import os
    import signal
    import time

    config = Config(storage=redis_server.url, key_prefix="stall", decision_timeout_ms=200)
    store = RedisStore(config)
    await store.start()
    try:
        pipeline = connections(store)
        assert await pipeline.call("PING")
        assert redis_server.process is not None
        pid = redis_server.process.pid
        os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        try:
            results = await asyncio.gather(
                *(pipeline.call("ECHO", str(i)) for i in range(5)), return_exceptions=True
            )
        finally:
            os.kill(pid, signal.SIGCONT)
        assert time.monotonic() - started < 2
        assert all(isinstance(r, TimeoutError) for r in results), results
        assert await pipeline.call("ECHO", "back") == b"back"
    finally:
        await store.stop()
