"""Live log records for the log streams, fed by the core's log tap (`observe_logs`).

The tap calls `LogStream.record` inside every logging call, on whatever thread logged:
it copies and encodes the record there (the event dict changes once the call returns),
then hands the text to the event loop, which numbers it, keeps it in a ring buffer (for
SSE `Last-Event-ID` resume) and offers it to each subscriber at or above its level. A
subscriber's queue is bounded: a record that finds it full is dropped and counted, never
waited for, so a slow reader cannot slow the server's logging.

The stream listens only while someone watches, and for `log_resume_seconds` after the
last one left (so a reconnecting client misses nothing); otherwise it costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec

from themisgate import observe_logs

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}

_encode = msgspec.json.Encoder(enc_hook=repr).encode


def parse_level(text: str | None) -> int | None:
    """`INFO`, `warning`… → the level number; None for a name that is not a level."""
    return LEVELS.get((text or "info").strip().lower())


class Entry(msgspec.Struct, frozen=True, array_like=True):
    seq: int
    level: int
    record: str  # the record as a JSON object


class Subscription:
    """One reader's bounded queue of entries at or above `level`."""

    __slots__ = ("_entries", "_limit", "_ready", "dropped", "level")

    def __init__(self, level: int, limit: int) -> None:
        self.level = level
        self.dropped = 0
        self._limit = limit
        self._entries: deque[Entry] = deque()
        self._ready = asyncio.Event()

    def push(self, entry: Entry) -> None:
        if len(self._entries) >= self._limit:
            self.dropped += 1
            return
        self._entries.append(entry)
        self._ready.set()

    async def next(self, wait: float | None = None) -> list[Entry]:
        """What has arrived, waiting for something (at most `wait` seconds; [] if nothing
        came by then)."""
        if not self._entries:
            self._ready.clear()
            if wait is None:
                await self._ready.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._ready.wait()
        entries = list(self._entries)
        self._entries.clear()
        return entries

    def take_dropped(self) -> int:
        dropped, self.dropped = self.dropped, 0
        return dropped


class LogStream:
    def __init__(self, boot: str, buffer_size: int, queue_size: int, resume_seconds: float) -> None:
        self.boot = boot
        self.queue_size = queue_size
        self.resume_seconds = resume_seconds
        self.buffer: deque[Entry] = deque(maxlen=buffer_size) if buffer_size else deque(maxlen=0)
        self.subscribers: set[Subscription] = set()
        self.encoding_failures = 0
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._detach: Callable[[], None] | None = None
        self._detach_timer: asyncio.TimerHandle | None = None

    # --- life -----------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def stop(self) -> None:
        if self._detach_timer is not None:
            self._detach_timer.cancel()
            self._detach_timer = None
        self._stop_listening()
        self.subscribers.clear()

    @property
    def listening(self) -> bool:
        return self._detach is not None

    def _stop_listening(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None

    # --- subscribers ------------------------------------------------------------------------

    @contextlib.contextmanager
    def subscribe(self, level: int) -> Iterator[Subscription]:
        subscription = Subscription(level, self.queue_size)
        if self._detach_timer is not None:
            self._detach_timer.cancel()
            self._detach_timer = None
        if self._detach is None:
            self._detach = observe_logs(self.record)
        self.subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self.subscribers.discard(subscription)
            if not self.subscribers:
                self._linger()

    def _linger(self) -> None:
        """Keep recording a while after the last reader left, for resuming readers."""
        if self.resume_seconds <= 0 or not self.buffer.maxlen or self._loop is None:
            self._stop_listening()
            return
        self._detach_timer = self._loop.call_later(self.resume_seconds, self._stop_listening)

    def since(self, last_event_id: str | None, level: int) -> list[Entry]:
        """Kept entries after `last_event_id` (all kept ones if it is from another run of
        this server); none without an id."""
        if not last_event_id:
            return []
        boot, _, seq_text = last_event_id.rpartition("-")
        after = 0
        if boot == self.boot:
            try:
                after = int(seq_text)
            except ValueError:
                return []
        return [e for e in self.buffer if e.seq > after and e.level >= level]

    def event_id(self, entry: Entry) -> str:
        return f"{self.boot}-{entry.seq}"

    # --- the tap ----------------------------------------------------------------------------

    def record(self, event: Mapping[str, Any]) -> None:
        """Called by the log tap inside a logging call, on any thread: never blocks."""
        loop = self._loop
        if loop is None:
            return
        try:
            level = LEVELS.get(str(event.get("level", "info")), logging.INFO)
            text = _encode(_public(event)).decode()
        except Exception:
            self.encoding_failures += 1
            return
        if threading.get_ident() == self._loop_thread:
            self._publish(level, text)
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(self._publish, level, text)

    def _publish(self, level: int, text: str) -> None:
        self._seq += 1
        entry = Entry(self._seq, level, text)
        self.buffer.append(entry)
        for subscription in self.subscribers:
            if level >= subscription.level:
                subscription.push(entry)


def _public(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy a client may see: no `_`-prefixed internals, exceptions as text."""
    record: dict[str, Any] = {}
    for key, value in event.items():
        if not isinstance(key, str) or key.startswith("_"):
            continue
        if key == "exc_info":
            text = _exception_text(value)
            if text:
                record["exception"] = text
            continue
        record[key] = value
    return record


def _exception_text(value: Any) -> str | None:
    if value is True:
        value = sys.exc_info()  # we run inside the logging call, in the except block
    if isinstance(value, BaseException):
        return "".join(traceback.format_exception(value))
    if isinstance(value, tuple) and len(value) == 3 and value[1] is not None:
        return "".join(traceback.format_exception(*value))
    return None
