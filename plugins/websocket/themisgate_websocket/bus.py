"""How broadcasts and personal messages reach clients on other instances, and how an
instance learns that a client has left all of them.

`LocalBus` is one process on its own. `RedisBus` publishes every broadcast and personal
message on one Redis pub/sub channel that every instance with the same prefix listens
to, and keeps presence (which instance holds which client ids) in Redis so
`user_disconnected` is sent once, when a client's last connection anywhere closes.

Why redis.asyncio's pub/sub directly rather than Litestar's channels plugin: the hub
already keeps a bounded queue per connection and must deliver locally at once whatever
Redis does; channels' Redis backend would add a second layer of per-subscriber queues,
and its event stream ends for good on a connection error. Here one task owns the
subscription, notices an outage, keeps local delivery going, reports it through the
status check and resubscribes (and re-announces this instance's clients) when Redis is
back. Pub/sub is at most once: a message published while Redis is down reaches only this
instance's clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from themisgate import StatusReport

from .config import Config, redacted_url

log = structlog.get_logger("themisgate.websocket")

PRESENCE_SCRIPT = (
    importlib.resources.files(__package__).joinpath("presence.lua").read_text(encoding="utf-8")
)
_MAX_BACKOFF = 5.0

OnMessage = Callable[[bytes], None]
LocalClients = Callable[[], Iterable[str]]


class Bus(Protocol):
    kind: str

    async def start(self, on_message: OnMessage, local_clients: LocalClients) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, payload: bytes) -> None: ...
    async def joined(self, client_id: str) -> None: ...
    async def left(self, client_id: str) -> bool: ...
    async def status(self) -> StatusReport: ...


class LocalBus:
    """One instance: every client is here, nothing to publish."""

    kind = "memory"

    async def start(self, on_message: OnMessage, local_clients: LocalClients) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, payload: bytes) -> None:
        return None

    async def joined(self, client_id: str) -> None:
        return None

    async def left(self, client_id: str) -> bool:
        return True

    async def status(self) -> StatusReport:
        return StatusReport(ok=True, detail="in memory (this instance's clients only)")


class RedisBus:
    kind = "redis"

    def __init__(self, config: Config, instance: str) -> None:
        assert config.redis_url is not None
        self.instance = instance
        self.url = redacted_url(config.redis_url)
        self._config = config
        self._client = self._new_client()
        self._timeout = config.redis_timeout_seconds
        prefix = config.redis_prefix
        self.channel = f"{prefix}:bus"
        self._instances = f"{prefix}:instances"
        self._clients_prefix = f"{prefix}:clients:"
        self._own_clients = f"{self._clients_prefix}{instance}"
        self._ttl_ms = round(config.presence_ttl_seconds * 1000)
        self._presence = self._client.register_script(PRESENCE_SCRIPT)
        self._task: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        # what waits to be published: bounded, so a slow Redis costs dropped messages
        # (counted), never memory or a client waiting
        self._outbox: deque[bytes] = deque()
        self._outbox_limit = config.send_queue_size * 64
        self._outbox_ready = asyncio.Event()
        self._stopped = False
        self._on_message: OnMessage = _ignore
        self._local_clients: LocalClients = tuple
        self._resync = True
        self.connected = False
        self.last_error = "not connected yet"
        self.published = 0
        self.unpublished = 0
        self.received = 0
        self.outages = 0

    # --- life -----------------------------------------------------------------------------

    def _new_client(self) -> aioredis.Redis:
        config = self._config
        assert config.redis_url is not None
        password = config.redis_password.reveal() if config.redis_password else None
        return aioredis.Redis.from_url(
            config.redis_url,
            password=password,
            socket_timeout=config.redis_timeout_seconds,
            socket_connect_timeout=config.redis_timeout_seconds,
            health_check_interval=max(1, round(config.presence_ttl_seconds / 3)),
            # one quick retry (a pooled connection that died with a restarted Redis);
            # longer outages are the listener's to notice and wait out
            retry=Retry(NoBackoff(), 1),
        )

    async def start(self, on_message: OnMessage, local_clients: LocalClients) -> None:
        if self._stopped:  # started again after a stop: a fresh connection pool
            self._client = self._new_client()
            self._presence = self._client.register_script(PRESENCE_SCRIPT)
            self._stopped = False
        self._on_message = on_message
        self._local_clients = local_clients
        self._task = asyncio.create_task(self._listen(), name="websocket-redis-bus")
        self._publisher = asyncio.create_task(self._publish(), name="websocket-redis-publish")

    async def stop(self) -> None:
        for task in (self._task, self._publisher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.connected:
            with contextlib.suppress(RedisError, OSError, asyncio.TimeoutError):
                async with asyncio.timeout(self._timeout):
                    pipe = self._client.pipeline(transaction=False)
                    pipe.zrem(self._instances, self.instance)
                    pipe.delete(self._own_clients)
                    await pipe.execute()
        self.connected = False
        self._stopped = True
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()

    async def _listen(self) -> None:
        """Subscribe, deliver, keep this instance's lease; on an outage, wait and start
        over (with growing pauses), so Redis coming back needs no restart."""
        backoff = 0.1
        refresh_every = self._ttl_ms / 3000
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._resync = True
                await self._announce()
                self._up()
                backoff = 0.1
                next_refresh = time.monotonic() + refresh_every
                while True:
                    message = await pubsub.get_message(timeout=min(1.0, refresh_every))
                    if message is not None and message.get("type") == "message":
                        self.received += 1
                        self._deliver(message["data"])
                    if time.monotonic() >= next_refresh:
                        await self._announce()
                        next_refresh = time.monotonic() + refresh_every
            except (TimeoutError, RedisError, OSError) as exc:
                self._down(exc)
            finally:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self._timeout):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    def _deliver(self, payload: bytes) -> None:
        try:
            self._on_message(payload)
        except Exception:
            log.exception("websocket bus could not deliver a message", channel=self.channel)

    def _up(self) -> None:
        if not self.connected:
            log.info("websocket bus connected to redis", redis=self.url, channel=self.channel)
        self.connected = True
        self.last_error = ""

    def _down(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.connected:
            self.outages += 1
            log.warning(
                "websocket bus lost redis; delivering to this instance's clients only",
                redis=self.url,
                error=self.last_error,
            )
        self.connected = False

    async def _announce(self) -> None:
        """Renew this instance's lease; after (re)connecting, state all its clients."""
        now = _now_ms()
        pipe = self._client.pipeline(transaction=False)
        pipe.zadd(self._instances, {self.instance: now + self._ttl_ms})
        pipe.zremrangebyscore(self._instances, "-inf", now)
        if self._resync:
            pipe.delete(self._own_clients)
            clients = list(self._local_clients())
            if clients:
                pipe.sadd(self._own_clients, *clients)
        pipe.pexpire(self._own_clients, self._ttl_ms)
        await pipe.execute()
        self._resync = False

    # --- delivery -------------------------------------------------------------------------

    async def publish(self, payload: bytes) -> None:
        """Hand `payload` to the publishing task; never waits for Redis."""
        if not self.connected or len(self._outbox) >= self._outbox_limit:
            self.unpublished += 1
            return
        self._outbox.append(payload)
        self._outbox_ready.set()

    async def _publish(self) -> None:
        """Publish in order, what has piled up in one round trip."""
        outbox = self._outbox
        while True:
            if not outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
            batch = list(outbox)
            outbox.clear()
            if not self.connected:
                self.unpublished += len(batch)
                continue
            try:
                if len(batch) == 1:
                    await self._client.publish(self.channel, batch[0])
                else:
                    pipe = self._client.pipeline(transaction=False)
                    for payload in batch:
                        pipe.publish(self.channel, payload)
                    await pipe.execute()
                self.published += len(batch)
            except (TimeoutError, RedisError, OSError) as exc:
                self.unpublished += len(batch)
                self.last_error = f"{type(exc).__name__}: {exc}"

    # --- presence -------------------------------------------------------------------------

    async def joined(self, client_id: str) -> None:
        if not self.connected:
            self._resync = True
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.sadd(self._own_clients, client_id)
            pipe.pexpire(self._own_clients, self._ttl_ms)
            await pipe.execute()
        except (TimeoutError, RedisError, OSError):
            self._resync = True

    async def left(self, client_id: str) -> bool:
        """Whether no instance holds `client_id` any more. Without Redis, this instance
        decides alone."""
        if not self.connected:
            self._resync = True
            return True
        try:
            gone = await self._presence(
                keys=[self._instances],
                args=[self.instance, client_id, _now_ms(), self._clients_prefix],
            )
        except (TimeoutError, RedisError, OSError):
            self._resync = True
            return True
        return bool(gone)

    async def status(self) -> StatusReport:
        facts: dict[str, Any] = {
            "redis": self.url,
            "channel": self.channel,
            "published": self.published,
            "unpublished": self.unpublished,
            "received": self.received,
            "outages": self.outages,
        }
        error = self.last_error
        if self.connected:
            try:
                await self._client.ping()
                return StatusReport(
                    ok=True, detail="redis answers; delivering across instances", facts=facts
                )
            except (TimeoutError, RedisError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
        return StatusReport(
            ok=False,
            detail=(
                f"redis does not answer ({error}); delivering to this instance's clients "
                "only, reconnecting"
            ),
            facts=facts,
        )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ignore(_: bytes) -> None:
    return None


def bus_for(config: Config, instance: str) -> Bus:
    return RedisBus(config, instance) if config.uses_redis else LocalBus()
