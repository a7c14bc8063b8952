"""Fixtures for the WebSocket tests that need Redis: the shared one (with a key prefix of
the test's own, cleaned afterwards) and a private `redis-server` a test can kill and
start again."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import structlog

from tests.support.redis import RedisServer, own_prefix, shared_redis_client
from themisgate.logs import configure_logging


@pytest.fixture
def logging_on() -> Iterator[io.StringIO]:
    """The server's log set-up, as `themisgate serve` makes it, writing to a buffer."""
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("debug", "json", stream=stream)
    yield stream
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    client = shared_redis_client()
    yield client
    client.close()


@pytest.fixture
def prefix(shared_redis: redis.Redis) -> Iterator[str]:
    with own_prefix(shared_redis, "ws") as value:
        yield value


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()
