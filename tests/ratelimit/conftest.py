"""Fixtures for the rate-limit tests: the shared Redis (own key prefix per test, cleaned
afterwards), a private `redis-server` the test can kill and restart, a hand-driven clock,
and an event recorder."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.processes import free_port
from tests.support.redis import RedisServer, own_prefix, shared_redis_client, wait_for


class ManualClock:
    """Microseconds that only move when the test says so."""

    def __init__(self, start: int = 1_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * 1_000_000)


class Events:
    """A plugin recording every `themisgate_event`."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def themisgate_event(self, name: str, payload: dict[str, Any]) -> None:
        self.seen.append((name, payload))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [payload for event, payload in self.seen if event == name]


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    client = shared_redis_client()
    yield client
    client.close()


@pytest.fixture
def prefix(shared_redis: redis.Redis) -> Iterator[str]:
    with own_prefix(shared_redis, "rl") as value:
        yield value


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def events() -> Events:
    return Events()


def _port_with_free_bus_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too: a node whose bus
    port is taken never joins, and the cluster never forms."""
    for _ in range(50):
        port = free_port()
        if port + 10000 < 65536:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port
    raise AssertionError("no port with a free cluster bus port")


class RedisCluster:
    """Three `redis-server` masters of the test's own, joined into a Redis Cluster."""

    def __init__(self, workdir: Path) -> None:
        self.nodes = []
        for n in range(3):
            node_dir = workdir / f"node{n}"
            node_dir.mkdir()
            node = RedisServer(node_dir)
            node.port = _port_with_free_bus_port()
            node.url = f"redis://127.0.0.1:{node.port}/0"
            node.extra = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            self.nodes.append(node)
        self.url = ""

    def start(self) -> RedisCluster:
        for node in self.nodes:
            node.start()
        self.url = f"redis+cluster://127.0.0.1:{self.nodes[0].port}"  # ports final now
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *addresses,
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        clients = [node.client() for node in self.nodes]
        try:
            wait_for(
                lambda: all(c.cluster("info")["cluster_state"] == "ok" for c in clients),
                "the cluster to agree its state is ok",
                timeout=30,
            )
        finally:
            for client in clients:
                client.close()
        return self

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    cluster = RedisCluster(tmp_path)
    try:
        yield cluster.start()
    finally:
        cluster.kill()
