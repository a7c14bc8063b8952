"""The shared store: GCRA in Redis, one `EVALSHA` (one round trip) per decision whatever
the number of policies, with the Redis server's clock.

Keys are `<key_prefix>:{<caller>}:<policy key>`: the caller between braces is the Redis
Cluster hash tag, so all of one caller's keys live in one slot and one script can touch
them all. Each key expires when its TAT passes, so Redis holds only callers that are
currently limited (see docs/ratelimit.md for sizing).

On a single Redis, decisions are pipelined onto up to `max_connections` connections
opened at start-up (redis_pipeline.py): no request pays for a TCP (or TLS) handshake,
the decisions of one turn of the event loop share one write and one read, and redis-py's
general pool and command machinery are skipped. Redis Cluster goes through redis-py's
cluster client, which routes each decision to the node owning the caller's slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.asyncio import ConnectionPool
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from .config import Config
from .gcra import Policy, Verdict
from .redis_pipeline import PipelinedConnections

SCRIPT = resources.files(__package__).joinpath("gcra.lua").read_text(encoding="utf-8")
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest()


def client_options(config: Config) -> dict[str, Any]:
    """Reads bounded by the decision timeout, connects by the connect timeout, nothing
    retried (the circuit breaker decides what happens next)."""
    return {
        "socket_timeout": config.decision_timeout,
        "socket_connect_timeout": config.connect_timeout,
        "retry": Retry(NoBackoff(), 0),
        "username": config.redis_username,
        "password": config.redis_password.reveal() if config.redis_password else None,
    }


def pipelined(config: Config) -> PipelinedConnections:
    # reads are bounded per batch by the pipeline, not per socket operation by redis-py
    options = {**client_options(config), "socket_timeout": None}
    factory = ConnectionPool.from_url(config.storage, **options)
    connections = [factory.make_connection() for _ in range(config.max_connections)]  # type: ignore[no-untyped-call]
    return PipelinedConnections(connections, config.decision_timeout)


class RedisStore:
    source = "redis"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.prefix = config.key_prefix
        self.cluster = "+cluster" in config.storage.split("://", 1)[0]
        self.connections: PipelinedConnections | None = None
        self.cluster_client: RedisCluster | None = None

    async def start(self) -> None:
        """Open the connections; a Redis that is down now is not an error (decisions
        fall back until it answers)."""
        self._prepare()
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(self.config.connect_timeout):
                if self.cluster_client is not None:
                    await self.cluster_client.initialize()
                elif self.connections is not None:
                    await self.connections.open()

    def _prepare(self) -> None:
        """Create the clients (no network): at start-up, or at first use if an app's
        lifespan did not run."""
        if self.connections is not None or self.cluster_client is not None:
            return
        if self.cluster:
            url = self.config.storage.replace("+cluster", "", 1)
            self.cluster_client = RedisCluster.from_url(
                url, max_connections=self.config.max_connections, **client_options(self.config)
            )
        else:
            self.connections = pipelined(self.config)

    async def stop(self) -> None:
        connections, self.connections = self.connections, None
        if connections is not None:
            await connections.close()
        cluster, self.cluster_client = self.cluster_client, None
        if cluster is not None:
            await cluster.aclose()

    def keys(self, caller: str, policies: Sequence[Policy]) -> list[str]:
        tagged = f"{self.prefix}:{{{caller}}}:"
        return [tagged + policy.key for policy in policies]

    async def charge(self, caller: str, policies: Sequence[Policy], cost: int = 1) -> Verdict:
        keys = self.keys(caller, policies)
        args: list[Any] = [len(keys), *keys, cost]
        for policy in policies:
            args.append(policy.interval)
            args.append(policy.tolerance)
        try:
            reply = await self._call("EVALSHA", SCRIPT_SHA, *args)
        except NoScriptError:  # a restarted or flushed Redis: EVAL also caches it again
            reply = await self._call("EVAL", SCRIPT, *args)
        return Verdict(reply[0] == 1, reply[1], reply[2:], policies, cost, self.source)

    async def ping(self) -> bool:
        return bool(await self._call("PING"))

    async def _call(self, *command: Any) -> Any:
        connections = self.connections
        if connections is None:
            self._prepare()
            connections = self.connections
        if connections is not None:
            return await connections.call(*command)
        assert self.cluster_client is not None
        return await self.cluster_client.execute_command(*command)
