"""The connection updates go through, below redis-py's client, shared by all of them.

An update reads a conversation, lets the engine compute, then writes it. Each command through
the client checks a connection out of the pool and back (a lock, a condition, metrics and
events each way), and bounds each write and each read with a timer of its own: together about
as much CPU as the rest of a webhook. And each command is a write and a read of its own, for
the process and for redis-server alike, when many webhooks are under way at once.

So the updates of one event loop share one connection: what they send during one turn of the
loop goes out in one write, and one reader takes the replies in order, each to whoever waits
for it (Redis answers the commands of a connection in the order they came). The commands of
one `send` go out together, so nothing comes between a script and the history entries beside
it. A compare-and-set script needs no connection of its own, and the other commands are single
ones. One timer bounds a whole update (in the store).

The connection is redis-py's, made from the store's URL (TLS, passwords and the database come
with it). When it breaks, every command waiting on it fails with `ConnectionError`, and the
next `send` opens another. A caller that stops waiting (its time ran out) leaves the
connection in doubt, a reply may never come: it is dropped the same way.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any

import hiredis
from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from ivr.store.base import StoreError

Command = Sequence[str | int]
# What says Redis was not reached (rather than that it refused a command).
UNREACHED = (ConnectionError, TimeoutError, asyncio.TimeoutError)


def store_error(where: str, exc: Exception) -> StoreError:
    """What a failure of Redis at `where` becomes: one line, whether it was reached or not."""
    if isinstance(exc, UNREACHED):
        return StoreError(f"Redis at {where} can't be reached: {exc}")
    return StoreError(f"Redis at {where} refused a command: {exc}")


class Wire:
    """The connection of one event loop that the store's updates share."""

    def __init__(self, url: str, connect_timeout: float) -> None:
        # Only a maker of connections: none of its own checkouts is ever made. No socket
        # timeout: the update's timer covers its writes and reads at once.
        self._maker = ConnectionPool.from_url(
            url,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),  # one more try is the store's to make
            socket_timeout=None,
            socket_connect_timeout=connect_timeout,
        )
        self._connection: AbstractConnection | None = None
        self._opening = asyncio.Lock()
        self._waiting: deque[asyncio.Future[Any]] = deque()  # in the order sent
        self._unsent: list[bytes] = []
        self._reader: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def send(self, *commands: Command) -> list[Any]:
        """The replies to `commands`; an error reply comes back as its error."""
        connection = self._connection or await self._open()
        loop = asyncio.get_running_loop()
        replies = [loop.create_future() for _ in commands]
        busy = bool(self._waiting)  # others under way: more may come this turn of the loop
        self._waiting.extend(replies)
        first = not self._unsent
        # hiredis's stub types the tuple as one item long.
        self._unsent += [hiredis.pack_command(tuple(c)) for c in commands]  # type: ignore[arg-type]
        try:
            if first:
                if busy:  # the others of this turn of the loop add theirs meanwhile
                    await asyncio.sleep(0)
                if connection is self._connection:
                    unsent, self._unsent = b"".join(self._unsent), []
                    await connection.send_packed_command(unsent, check_health=False)
            return [await reply for reply in replies]
        except BaseException as exc:
            if connection is self._connection:  # no telling what it still owes whom
                self._drop(exc)
            raise

    async def _open(self) -> AbstractConnection:
        async with self._opening:
            if self._connection is None:
                connection: AbstractConnection = self._maker.make_connection()  # type: ignore[no-untyped-call]
                await connection.connect()  # type: ignore[no-untyped-call]
                self._connection = connection
                self._reader = asyncio.get_running_loop().create_task(self._read(connection))
            return self._connection

    async def _read(self, connection: AbstractConnection) -> None:
        try:
            while True:
                try:
                    reply = await connection.read_response()
                except ResponseError as exc:
                    reply = exc
                if connection is not self._connection:  # let go of meanwhile
                    return
                if not self._waiting:
                    raise ConnectionError("Redis answered a command no one sent")
                waiter = self._waiting.popleft()
                if not waiter.done():
                    waiter.set_result(reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if connection is self._connection:
                self._drop(exc)

    def _drop(self, why: BaseException) -> None:
        """Let go of the connection: whatever waits on it fails."""
        connection, self._connection = self._connection, None
        waiting, self._waiting, self._unsent = self._waiting, deque(), []
        error = why if isinstance(why, ConnectionError) else ConnectionError(str(why) or repr(why))
        for waiter in waiting:
            if not waiter.done():
                waiter.set_exception(error)
                waiter.exception()  # retrieved: a caller that left won't, and that is fine
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        if connection is not None:
            closing = asyncio.get_running_loop().create_task(connection.disconnect(nowait=True))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        if self._connection is not None:
            self._drop(ConnectionError("the store is closed"))
        await asyncio.gather(*self._closing, return_exceptions=True)


async def send(wire: Wire, *commands: Command) -> list[Any]:
    """The replies to `commands`, sent together; an error reply comes back as its error."""
    return await wire.send(*commands)


def checked(reply: Any) -> Any:
    """`reply`, unless Redis answered with an error: then that error, raised."""
    if isinstance(reply, ResponseError):
        raise reply
    return reply
