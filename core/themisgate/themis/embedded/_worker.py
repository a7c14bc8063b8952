"""One thread that owns the SQLite write connection.

SQLite allows one writer at a time anyway; giving all writes to a single thread serialises
them without locks, keeps the connection on the thread that created it, and keeps blocking
file I/O off the event loop. Callers `await worker.run(fn, *args)`; `fn` receives the
connection as its first argument.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class SerialWorker:
    """A single-thread executor plus the connection it owns (opened on that thread)."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connection: sqlite3.Connection | None = None

    async def open(self, connect: Callable[[], sqlite3.Connection]) -> None:
        """Create the connection on the worker thread."""
        self._connection = await self._submit(connect)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on the worker thread and await its result."""
        return await self._submit(self._call, fn, args)

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._connection is None:
            raise RuntimeError("the SQLite worker has no open connection")
        return fn(self._connection, *args)

    async def _submit(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def close(self) -> None:
        """Close the connection on its own thread, then stop the thread."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await asyncio.get_running_loop().run_in_executor(self._executor, connection.close)
        # waits for work a cancelled caller left behind, without blocking the loop
        await asyncio.to_thread(self._executor.shutdown, True)
