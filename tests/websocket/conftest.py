"""Fixtures for the WebSocket tests that need Redis: the shared one (with a key prefix of
the test's own, cleaned afterwards) and a private `redis-server` a test can kill and
start again."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import structlog

from tests.support.processes import free_port
from themisgate.logs import configure_logging

SHARED_REDIS = "redis://127.0.0.1:6379/0"


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
    client = redis.Redis.from_url(SHARED_REDIS, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"this test needs the Redis at {SHARED_REDIS}, which does not answer: {exc}")
    yield client
    client.close()


@pytest.fixture
def prefix(shared_redis: redis.Redis) -> Iterator[str]:
    """A channel and key prefix of this test's own; its keys go afterwards."""
    value = f"test-ws-{uuid.uuid4().hex[:12]}"
    yield value
    keys = list(shared_redis.scan_iter(match=f"{value}:*", count=1000))
    if keys:
        shared_redis.delete(*keys)


class RedisServer:
    """A `redis-server` of the test's own, without persistence, that the test can kill
    (SIGKILL, like a crash) and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; the outage test starts its own")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise AssertionError(f"redis-server on {self.port} did not start") from None
                    time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()
