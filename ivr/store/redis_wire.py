"""The connections an update's commands go through, below redis-py's client.

An update reads a conversation, lets the engine compute, then writes it. Each command through
the client checks a connection out of the pool and back (a lock, a condition, metrics and
events each way), and bounds each write and each read with a timer of its own (a task for the
write): together about as much CPU as the rest of a webhook. So updates take their
connections from a free list of their own, with no lock (one event loop owns it), hiredis packs
the commands, and one timer bounds the whole update (`asyncio.timeout`, in the store).

The connections are redis-py's, made from the store's URL (TLS, passwords and the database
come with it). What redis-py does when a command fails is kept: a connection closes itself when
a write or a read fails or is cancelled (the update's timer ran out), and is opened again when
next used.
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
from redis.exceptions import ConnectionError, ResponseError

Command = Sequence[str | int]


class Wire:
    """At most `size` connections of one event loop, each used by one update at a time."""

    def __init__(self, url: str, size: int, connect_timeout: float) -> None:
        # Only a maker of connections: none of its own checkouts is ever made. No socket
        # timeout: the update's timer covers every write and read at once.
        self._maker = ConnectionPool.from_url(
            url,
            max_connections=size,  # unless the URL says another
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),  # one more try is the store's to make
            socket_timeout=None,
            socket_connect_timeout=connect_timeout,
        )
        self._size: int = self._maker.max_connections
        self._free: list[AbstractConnection] = []
        self._all: list[AbstractConnection] = []
        self._waiting: deque[asyncio.Future[AbstractConnection]] = deque()
        self._closed = False

    async def take(self) -> AbstractConnection:
        """A connection for this update alone; waits while all `size` are in use."""
        if self._free:
            return self._free.pop()
        if self._closed:
            raise ConnectionError("the store is closed")
        if len(self._all) < self._size:
            connection: AbstractConnection = self._maker.make_connection()  # type: ignore[no-untyped-call]
            self._all.append(connection)
            return connection
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            connection = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over as time ran out
                self.give(waiter.result())
            raise
        return connection

    def give(self, connection: AbstractConnection) -> None:
        """Take back a connection with no reply left unread on it."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._free.append(connection)

    async def close(self) -> None:
        self._closed = True
        for connection in self._all:
            await connection.disconnect()
        self._all.clear()
        self._free.clear()


async def send(connection: AbstractConnection, *commands: Command) -> list[Any]:
    """The replies to `commands`, sent in one write; an error reply comes back as its error.

    Every reply is read even when one is an error, so none is left for the next user.
    """
    # hiredis's stub types the tuple as one item long.
    packed = b"".join(hiredis.pack_command(tuple(c)) for c in commands)  # type: ignore[arg-type]
    await connection.send_packed_command(packed, check_health=False)
    replies: list[Any] = []
    for _ in commands:
        try:
            replies.append(await connection.read_response())
        except ResponseError as exc:
            replies.append(exc)
    return replies


def checked(reply: Any) -> Any:
    """`reply`, unless Redis answered with an error: then that error, raised."""
    if isinstance(reply, ResponseError):
        raise reply
    return reply
