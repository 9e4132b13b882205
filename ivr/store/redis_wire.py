"""An update's commands on one connection it holds, below redis-py's client.

An update reads a conversation, lets the engine compute, then writes it. Each command through
the client checks a connection out of the pool and back, goes through its retry wrapper and
reply callbacks, and records metrics: about as much CPU as the rest of a webhook. So an update
holds one connection from the pool for all its round trips, hiredis packs the commands, and
the connection reads the replies. What the client does when a command fails is kept: the
connection closes itself when a reply can't be read, and is reopened when next checked out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import hiredis
from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ResponseError

Command = Sequence[str | int]


@asynccontextmanager
async def held(pool: ConnectionPool) -> AsyncIterator[AbstractConnection]:
    """A connection of `pool`, given back when the block ends, however it ends."""
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        yield connection
    finally:
        await pool.release(connection)


async def send(connection: AbstractConnection, *commands: Command) -> list[Any]:
    """The replies to `commands`, sent in one write; an error reply comes back as its error.

    Every reply is read even when one is an error, so none is left for the next user.
    """
    # hiredis's stub types the tuple as one item long.
    packed = b"".join(hiredis.pack_command(tuple(c)) for c in commands)  # type: ignore[arg-type]
    await connection.send_packed_command(packed)
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
