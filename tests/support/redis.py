"""Redis for tests: the shared server at 127.0.0.1:6379 (every test on its own key prefix,
cleaned afterwards; absent, the test fails saying so) and a private `redis-server` a test
can kill and start again."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.support.processes import free_port

SHARED_REDIS = "redis://127.0.0.1:6379/0"


def shared_redis_client() -> redis.Redis:
    client = redis.Redis.from_url(SHARED_REDIS, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"this test needs the Redis at {SHARED_REDIS}, which does not answer: {exc}")
    return client


@contextlib.contextmanager
def own_prefix(client: redis.Redis, label: str) -> Iterator[str]:
    """A key (and channel) prefix of this test's own; its keys are deleted afterwards."""
    value = f"test-{label}-{uuid.uuid4().hex[:12]}"
    yield value
    keys = list(client.scan_iter(match=f"{value}:*", count=1000))
    if keys:
        client.delete(*keys)


class RedisServer:
    """A `redis-server` of the test's own on a free port, without persistence, that the
    test can kill (SIGKILL, like a crash) and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; the outage tests start their own")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.extra: list[str] = []
        self.started = False
        self.log = workdir / "redis-server.log"

    def start(self) -> RedisServer:
        """Start on this server's port; on the first start a port that another process
        took meanwhile is traded for a new one (a restart keeps its port)."""
        attempts = 1 if self.started else 3
        for _ in range(attempts):
            if self._start_once():
                self.started = True
                return self
            if not self.started:
                self.port = free_port()
                self.url = f"redis://127.0.0.1:{self.port}/0"
        raise AssertionError(f"redis-server on {self.port} did not start:\n{self.output()}")

    def _start_once(self) -> bool:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir), *self.extra]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    client.ping()
                    return True
                except redis.ConnectionError:
                    time.sleep(0.02)
        finally:
            client.close()
        self.kill()
        return False

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @contextlib.contextmanager
    def monitor(self, log: Path) -> Iterator[Callable[[], list[str]]]:
        """Record every command the server runs (`MONITOR`) while the block runs; yields a
        function returning the recorded lines, the monitor's own set-up excluded."""
        lines: list[str] = []
        with log.open("wb") as out:
            watcher = subprocess.Popen(["redis-cli", "-p", str(self.port), "monitor"], stdout=out)
        sentinel = f"monitor-{uuid.uuid4().hex}"
        client = self.client()
        try:
            wait_for(lambda: log.read_text().startswith("OK"), "MONITOR to start")
            yield lambda: lines
            client.echo(sentinel)
            wait_for(lambda: sentinel in log.read_text(), "MONITOR to see the last command")
        finally:
            watcher.terminate()
            watcher.wait()
            client.close()
        recorded = log.read_text().splitlines()[1:]
        (last,) = [line for line in recorded if sentinel in line]
        own = last.split("]", 1)[0].split("[", 1)[1]  # "0 127.0.0.1:port": the watcher's
        lines.extend(line for line in recorded if f"[{own}]" not in line)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.01)
