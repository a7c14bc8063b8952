"""One app's WebSocket machinery, built once by the start-up hooks and found by handlers
through the app's context: the hub, the bus to other instances, the log and status
feeds, the actions other plugins added, and the one upkeep task (heartbeats, idle
connections) that serves every connection."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import structlog

from themisgate import AppContext, ConfigError, Problem, StatusReport, WebSocketAction

from .bus import bus_for
from .config import Config
from .connection import Connection
from .hub import Hub
from .logstream import LogStream
from .protocol import BUILTIN_ACTIONS, CLOSE_IDLE, IDLE_TIMEOUT, Error, encode
from .statusfeed import StatusFeed

if TYPE_CHECKING:
    from .actions import Dispatcher

log = structlog.get_logger("themisgate.websocket")

PLUGIN = "websocket"
HOOK = "themisgate_websocket_actions"


def runtime_for(ctx: AppContext) -> WebSocketRuntime:
    return ctx.plugin_state(__name__, lambda: WebSocketRuntime(ctx, ctx.config(PLUGIN)))


class WebSocketRuntime:
    def __init__(self, ctx: AppContext, config: Config) -> None:
        self.ctx = ctx
        self.config = config
        self.instance = os.urandom(6).hex()
        self.bus = bus_for(config, self.instance)
        self.hub = Hub(
            self.instance,
            self.bus,
            config.max_connections_per_identity,
            announce=config.announce_disconnects,
        )
        self.logs = LogStream(
            self.instance, config.log_buffer_size, config.log_queue_size, config.log_resume_seconds
        )
        self.status = StatusFeed(
            ctx, config.status_poll_seconds, timeout=min(5.0, config.status_interval_seconds)
        )
        self.listening = bool(ctx.hooks.themisgate_event.get_hookimpls())
        self.actions: dict[str, WebSocketAction] = {}
        self.dispatchers: dict[str, Dispatcher] = {}
        self._upkeep: asyncio.Task[None] | None = None

    # --- start-up ---------------------------------------------------------------------------

    def collect_actions(self) -> None:
        """Every plugin's answer to `themisgate_websocket_actions`, once; a taken name or a
        wrong object stops start-up naming the plugin."""
        caller = getattr(self.ctx.pm.hook, HOOK)
        problems: list[Problem] = []
        source = self.ctx.settings.source
        for impl in reversed(caller.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                continue
            answer = impl.function(**{name: self.ctx for name in impl.argnames})
            for item in answer or ():
                where = f"plugins.{impl.plugin_name}"
                if not isinstance(item, WebSocketAction):
                    problems.append(
                        Problem(
                            source,
                            where,
                            None,
                            f"{HOOK} returned {type(item).__name__}; return "
                            "themisgate.WebSocketAction values",
                        )
                    )
                elif item.name in BUILTIN_ACTIONS or item.name in self.actions:
                    problems.append(
                        Problem(
                            source,
                            where,
                            None,
                            f"WebSocket action {item.name!r} is already taken",
                        )
                    )
                else:
                    self.actions[item.name] = item
        if problems:
            raise ConfigError(problems)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self.logs.start()
        await self.bus.start(self.hub.on_bus_message, self.hub.local_clients)
        tick = self._tick()
        if tick is not None:
            self._upkeep = asyncio.create_task(self._keep_up(tick), name="websocket-upkeep")
        try:
            yield
        finally:
            if self._upkeep is not None:
                self._upkeep.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._upkeep
            for connection in tuple(self.hub.connections):
                connection.close(1001, "server shutting down")
            await self.status.stop()
            self.logs.stop()
            await self.bus.stop()

    # --- per connection ------------------------------------------------------------------------

    def sent_observer(self, endpoint: str) -> Callable[[str], None] | None:
        """What each written frame reports (`ws_message`, direction out), or None when no
        plugin listens to events."""
        if not self.listening:
            return None
        emit = self.ctx.emit

        def sent(kind: str) -> None:
            emit("ws_message", {"endpoint": endpoint, "direction": "out", "type": kind})

        return sent

    async def report(self) -> StatusReport:
        bus = await self.bus.status()
        facts = {**self.hub.facts(), **bus.facts, "log_subscribers": len(self.logs.subscribers)}
        return StatusReport(ok=bus.ok, detail=bus.detail, facts=facts)

    # --- upkeep ------------------------------------------------------------------------------

    def _tick(self) -> float | None:
        periods = [
            p
            for p in (self.config.heartbeat_seconds, self.config.idle_timeout_seconds / 4)
            if p > 0
        ]
        return min(5.0, max(0.02, min(periods))) if periods else None

    async def _keep_up(self, tick: float) -> None:
        heartbeat = self.config.heartbeat_seconds
        idle = self.config.idle_timeout_seconds
        next_beat = time.monotonic() + heartbeat
        while True:
            await asyncio.sleep(tick)
            try:
                if heartbeat and time.monotonic() >= next_beat:
                    self.hub.heartbeat()
                    next_beat = time.monotonic() + heartbeat
                if idle:
                    self.hub.close_idle(idle, _close_idle)
            except Exception:
                log.exception("websocket upkeep failed")


_IDLE = encode(Error(code=IDLE_TIMEOUT, message="no message from this client for too long"))


def _close_idle(connection: Connection) -> None:
    connection.offer("error", _IDLE)
    connection.close(CLOSE_IDLE, "idle timeout")
