"""Decisions pipelined onto a few Redis connections.

Every command issued in one turn of the event loop goes out in a single write on one
connection, and the replies are read back in order. Under load a decision then costs a
share of one round trip and one system call instead of each its own; with a connection
per decision, 32 concurrent requests queued for 16 connections, and a waiter woken by a
returned connection could lose it to a newcomer and wait again (p99 at 80-90 ms where
the median was 6 ms). Here batches wait for a connection in arrival order, and all that
waited go out together on the next one free.

redis-py still speaks the protocol, authenticates, and drops a connection that an error
or the socket timeout interrupted (it reconnects on next use). A reply that is an error
(`NOSCRIPT`, say) fails its own command only; a broken connection or a timeout fails
every command of the batch still unanswered, each with the error that ended it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ResponseError

Command = tuple[Any, ...]
Batch = list[tuple[Command, "asyncio.Future[Any]"]]


class PipelinedConnections:
    """`call()` sends one command and returns its reply, batched with its neighbours."""

    def __init__(self, connections: list[AbstractConnection], timeout: float) -> None:
        self.all = connections
        self.timeout = timeout  # for one batch's write and replies
        self.idle = list(connections)
        self.waiting: deque[Batch] = deque()  # batches with no free connection yet
        self._queued: Batch = []
        self._flush_scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    async def call(self, *command: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queued.append((command, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)  # after every decision of this turn has queued
        return await future

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._queued = self._queued, []
        if not self.idle:
            self.waiting.append(batch)
            return
        task = asyncio.get_running_loop().create_task(self._serve(self.idle.pop(), batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _serve(self, connection: AbstractConnection, batch: Batch) -> None:
        """Send `batch`, then whatever waited meanwhile, then give the connection back."""
        try:
            while True:
                await _exchange(connection, batch, self.timeout)
                if not self.waiting:
                    return
                batch = [item for waited in self.waiting for item in waited]
                self.waiting.clear()
        finally:
            self.idle.append(connection)

    async def open(self) -> None:
        results = await asyncio.gather(
            *(connection.connect() for connection in self.all),  # type: ignore[no-untyped-call]
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        for batch in [self._queued, *self.waiting]:
            _fail(batch, ConnectionError("the rate limiter stopped"))
        for connection in self.all:
            with contextlib.suppress(Exception):
                await connection.disconnect()


async def _exchange(connection: AbstractConnection, batch: Batch, within: float) -> None:
    pending = [(command, future) for command, future in batch if not future.done()]
    if not pending:  # every caller gave up (its decision timeout) before the send
        return
    answered = 0
    try:
        # one deadline for the batch: the connections have no socket timeout of their own,
        # which would cost redis-py a task per write and a timer per reply
        async with asyncio.timeout(within):
            await connection.send_packed_command(
                b"".join(map(pack, (command for command, _ in pending))), check_health=False
            )
            for _, future in pending:
                try:
                    reply = await connection.read_response()
                except ResponseError as error:  # this command's own error; the stream is fine
                    if not future.done():
                        future.set_exception(error)
                else:
                    if not future.done():
                        future.set_result(reply)
                answered += 1
    except Exception as error:  # redis-py has dropped the connection already
        _fail(pending[answered:], error)
    except asyncio.CancelledError:
        _fail(pending[answered:], ConnectionError("the rate limiter stopped"))
        raise


def pack(command: Command) -> bytes:
    """A command as a RESP array of bulk strings. Its arguments are str, bytes or int:
    what redis-py's general encoder would make of them, without its per-argument type
    dispatch (a third of a decision's cost in the server process)."""
    parts = [b"*%d\r\n" % len(command)]
    for argument in command:
        data = argument if isinstance(argument, bytes) else str(argument).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _fail(batch: Batch, error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
