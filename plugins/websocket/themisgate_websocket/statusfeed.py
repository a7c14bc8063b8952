"""The adapter's status for the status streams: one health check every
`status_poll_seconds` for all subscribers of this instance (none while nobody watches),
and a signal the moment what it says changes (reachable, version, detail).

Each subscriber sends the latest status every `status_interval_seconds` and at once when
the signal fires and the status differs from what that subscriber sent last; counters
(queries, errors, latency) are read fresh for every update without asking ThemisDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import msgspec
import structlog

from themisgate import AppContext
from themisgate.themis import ThemisError

log = structlog.get_logger("themisgate.websocket")


class Health(msgspec.Struct, frozen=True):
    """The part of the status whose change is news."""

    available: bool
    version: str | None
    detail: str


class AdapterStatus(msgspec.Struct):
    name: str
    available: bool
    version: str | None
    query_count: int
    error_count: int
    avg_latency_ms: float
    detail: str


class StatusFrame(msgspec.Struct, tag_field="type", tag="status", kw_only=True):
    adapters: list[AdapterStatus]
    reason: str  # "initial", "change" or "interval"
    ts: float


UNKNOWN = Health(available=False, version=None, detail="not checked yet")


class StatusFeed:
    def __init__(self, ctx: AppContext, poll_seconds: float, timeout: float) -> None:
        self._ctx = ctx
        self._poll_seconds = poll_seconds
        self._timeout = timeout
        self.health = UNKNOWN
        self.checks = 0
        self._subscribers = 0
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._first = asyncio.Event()

    # --- subscribers ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def subscription(self) -> Any:
        """While open, the health check runs; the first result is in before it yields."""
        self._subscribers += 1
        if self._task is None or self._task.done():
            self._first = asyncio.Event()
            self._task = asyncio.create_task(self._poll(), name="websocket-status-feed")
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._timeout + 1):
                    await self._first.wait()
            yield self
        finally:
            self._subscribers -= 1
            if self._subscribers == 0 and self._task is not None:
                self._task.cancel()
                self._task = None

    async def changed(self, wait: float) -> bool:
        """Wait at most `wait` seconds for the health to change; whether it did."""
        signal = self._changed
        try:
            async with asyncio.timeout(wait):
                await signal.wait()
            return True
        except TimeoutError:
            return False

    def frame(self, reason: str) -> StatusFrame:
        adapter = self._ctx.adapter
        stats = adapter.stats
        health = self.health
        status = AdapterStatus(
            name=adapter.name,
            available=health.available,
            version=health.version,
            query_count=stats.calls,
            error_count=stats.errors,
            avg_latency_ms=stats.avg_latency_ms,
            detail=health.detail,
        )
        return StatusFrame(adapters=[status], reason=reason, ts=round(time.time(), 3))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # --- the check ----------------------------------------------------------------------------

    async def _poll(self) -> None:
        while True:
            health = await self._check()
            self.checks += 1
            if health != self.health:
                self.health = health
                signal, self._changed = self._changed, asyncio.Event()
                signal.set()
            self._first.set()
            await asyncio.sleep(self._poll_seconds)

    async def _check(self) -> Health:
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._ctx.adapter.health()
        except TimeoutError:
            return Health(False, None, f"no answer within {self._timeout:g}s")
        except ThemisError as exc:
            return Health(False, None, exc.message)
        except Exception as exc:  # a broken backend must not end the stream
            log.warning("adapter health check failed", error=repr(exc))
            return Health(False, None, type(exc).__name__)
        return Health(answer.status == "healthy", answer.version, answer.status)
