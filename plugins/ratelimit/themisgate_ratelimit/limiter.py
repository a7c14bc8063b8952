"""One app's rate limiter: the configured store, the fallback while Redis is down, the
circuit breaker, and the backend events.

`charge()` always answers within the decision timeout: from Redis when it can, else from
the in-process store (`fail_open = true`: each process still holds every caller to the
policies on its own) or not at all (`fail_open = false`: None, answered as 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import RedisError

from .breaker import CircuitBreaker
from .config import Config, redacted_url
from .gcra import Policy, Verdict
from .memory import Clock, MemoryStore, monotonic_us
from .redis_store import RedisStore

log = logging.getLogger("themisgate.ratelimit")

Emit = Callable[[str, dict[str, Any]], None]
BACKEND_ERRORS = (RedisError, OSError, TimeoutError)


class Limiter:
    def __init__(self, config: Config, emit: Emit, clock: Clock = monotonic_us) -> None:
        self.config = config
        self.emit = emit
        self.redis = RedisStore(config) if config.uses_redis else None
        self.memory = MemoryStore(
            config.max_keys, clock, source="memory" if self.redis is None else "fallback"
        )
        self.breaker = CircuitBreaker(config.breaker_threshold, config.breaker_reset_seconds)
        self.timeout = config.decision_timeout
        self.last_error: str | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def backend(self) -> str:
        return "redis" if self.redis is not None else "memory"

    async def start(self) -> None:
        if self.redis is not None:
            await self.redis.start()

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        if self.redis is not None:
            await self.redis.stop()

    async def charge(self, caller: str, policies: Sequence[Policy], cost: int) -> Verdict | None:
        """Decide and charge; None when Redis cannot answer and `fail_open` is false."""
        redis = self.redis
        if redis is None:
            return self.memory.charge(caller, policies, cost)
        if self.breaker.closed:
            try:
                async with asyncio.timeout(self.timeout):
                    verdict = await redis.charge(caller, policies, cost)
            except BACKEND_ERRORS as exc:
                self.failed(exc)
            except Exception as exc:  # a store that answers nonsense is a store down, not a 500
                log.exception("unexpected error from the rate-limit store")
                self.failed(exc)
            else:
                if self.breaker.failures:
                    self.breaker.succeeded()
                return verdict
        elif self.breaker.probe_due():
            self._probe = asyncio.get_running_loop().create_task(self._run_probe())
        if self.config.fail_open:
            return self.memory.charge(caller, policies, cost)
        return None

    async def _run_probe(self) -> None:
        """Is Redis back? Asked in the background, with the connect timeout (reconnecting
        may take longer than a decision may wait), so no request waits for the answer."""
        try:
            await self.ping()
        except Exception as exc:  # the breaker must never stay half-open
            log.exception("unexpected error while probing the rate-limit store")
            self.failed(exc)

    def retry_in(self) -> float:
        """Seconds until Redis is tried again: the Retry-After of a fail-closed 503."""
        return max(self.breaker.retry_in(), self.timeout)

    def failed(self, exc: BaseException) -> None:
        # the exception's text, never the URL with credentials: redis-py names host:port
        self.last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self.breaker.failed():
            log.warning(
                "rate-limit backend down (%s): %s; %s until it answers again",
                redacted_url(self.config.storage),
                self.last_error,
                "limiting in this process only" if self.config.fail_open else "answering 503",
            )
            self.emit(
                "ratelimit_backend_down",
                {
                    "backend": "redis",
                    "error": self.last_error,
                    "fail_open": self.config.fail_open,
                },
            )

    def succeeded(self) -> None:
        down_for = self.breaker.succeeded()
        if down_for is not None:
            self.last_error = None
            log.warning("rate-limit backend up again after %.1fs", down_for)
            self.emit("ratelimit_backend_up", {"backend": "redis", "down_seconds": down_for})

    async def ping(self) -> bool:
        """Whether Redis answers; counts toward the breaker, so a readiness check also
        notices Redis coming back."""
        if self.redis is None:
            return True
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                await self.redis.ping()
        except BACKEND_ERRORS as exc:
            self.failed(exc)
            return False
        self.succeeded()
        return True
