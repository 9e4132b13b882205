"""An update of the Redis store, in one round trip when the store knew the conversation.

Each process remembers the last version it saw of the conversations it served lately (what it
wrote or read, a few thousand of them). An update computes from that version (a lookup never
seen: from none), and the script writes only if the conversation is still that version in
Redis; if not, it answers with the conversation as it is, and the update computes again from
that. So a call's webhooks served by one process cost one round trip each, and webhooks that
hop between hosts cost two, as a read and a write would. An update that writes nothing reads
the conversation to make sure it computed from the current one, unless it just had it from
Redis. No update is ever lost: every write is a compare-and-set of the version.

A command that doesn't reach Redis is tried once more (an update, once in all; a write whose
answer was lost is looked for first); then `StoreError`. One timer bounds each try.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass
from typing import Generic

from redis.exceptions import RedisError

from ivr.engine.session import Session
from ivr.store import redis_layout as at
from ivr.store.base import NO_EFFECTS, Change, EffectsOf, Retention, T
from ivr.store.redis_wire import UNREACHED, Wire, checked, send, store_error
from ivr.store.redis_write import Commands, Fields, Write, numbered

KNOWN = 10_000  # conversations a process remembers the last version of
POOL_SIZE = 32  # the client's connections per process; `?max_connections=N` in the URL sets another
TIMEOUT = 5.0  # seconds for a try of an update: a connection, the commands, their replies
RETRY_PAUSE = 0.25  # before the one more try: a restart or a failover may be over by then
DOUBT = 4  # misses more than hits by this much: read before computing
ABSENT: Fields = [None, None, None, None]


@dataclass
class Attempt(Generic[T]):
    """Where an update is: the version it computes from, and its last write and result."""

    fields: Fields
    guessed: bool  # the fields are a version remembered, not yet found current or not
    parsed: Session | None = None  # their session, when already read from its JSON
    fresh: bool = False  # the fields were just read from Redis
    write: Write | None = None  # once set, a failure may come after the write landed
    result: T | None = None


class RedisUpdates:
    url: str
    retention: Retention
    _where: str

    def __init__(self) -> None:
        self._wires: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Wire] = (
            weakref.WeakKeyDictionary()
        )
        self._known: dict[str, tuple[Fields, Session | None]] = {}
        self._misses = 0  # remembered versions found out of date, less those found current

    # Connections belong to the event loop that opened them: each loop has its own.
    def _wire(self) -> Wire:
        loop = asyncio.get_running_loop()
        wire = self._wires.get(loop)
        if wire is None:
            wire = self._wires[loop] = Wire(self.url, TIMEOUT)
        return wire

    async def _close_wire(self) -> None:
        wire = self._wires.pop(asyncio.get_running_loop(), None)
        if wire is not None:
            await wire.close()

    def _know(self, lookup: str, fields: Fields, parsed: Session | None = None) -> None:
        self._known.pop(lookup, None)
        if fields[0] is None:  # no such conversation: nothing worth remembering
            return
        if len(self._known) >= KNOWN:  # the one known longest goes
            self._known.pop(next(iter(self._known)), None)
        self._known[lookup] = fields, parsed

    async def aupdate(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        fields, parsed = self._known.get(lookup, (None, None))
        attempt: Attempt[T] = Attempt(fields or ABSENT, fields is not None, parsed)
        failed = False
        while True:
            wire = self._wire()
            try:
                async with asyncio.timeout(TIMEOUT):
                    return await self._update(wire, lookup, change, ttl, effects, attempt)
            except UNREACHED as exc:
                self._known.pop(lookup, None)
                if failed:
                    raise store_error(self._where, exc) from exc
                failed, attempt.fresh, attempt.guessed = True, False, False
                await asyncio.sleep(RETRY_PAUSE)
                # The write may have landed before the connection broke: then it is done.
                write, attempt.write = attempt.write, None
                if write is not None and await self._landed(write):
                    self._know(lookup, write.fields, write.session)
                    return attempt.result  # type: ignore[return-value]
            except RedisError as exc:
                self._known.pop(lookup, None)
                raise store_error(self._where, exc) from exc

    async def _update(
        self,
        wire: Wire,
        lookup: str,
        change: Change[T],
        ttl: float,
        effects: EffectsOf[T] | None,
        attempt: Attempt[T],
    ) -> T:
        if attempt.guessed and self._misses >= DOUBT:  # read first, but keep the score
            read = await self._read(wire, lookup)
            self._scored(attempt, read)
            attempt.fields, attempt.parsed, attempt.fresh = read, None, True
        while True:
            now = time.time()
            after, result = change(at.live_session(attempt.fields, now, attempt.parsed))
            done = effects(result) if effects is not None else NO_EFFECTS
            if after is None and not done:
                if attempt.fresh:
                    return result
                read = await self._read(wire, lookup)
                if self._scored(attempt, read):  # it was computed from the current version
                    return result
                attempt.fields, attempt.parsed, attempt.fresh = read, None, True
                continue
            keep = at.ms(self.retention.messages)
            commands = await numbered(wire, done, keep) if done else Commands()
            times = (now, ttl, self.retention.history)
            kept = attempt.parsed  # the session `fields` hold, kept when `after` is None
            attempt.write = Write.of(lookup, attempt.fields, after, times, commands, kept)
            attempt.result = result
            found = await attempt.write.on(wire)
            self._scored(attempt, found or attempt.fields)
            if found is None:
                self._know(lookup, attempt.write.fields, attempt.write.session)
                return result
            attempt.fields, attempt.parsed, attempt.fresh, attempt.write = found, None, True, None
            self._know(lookup, found)

    def _scored(self, attempt: Attempt[T], current: Fields) -> bool:
        """Whether `attempt` computed from `current`; a remembered version's hit or miss counts.

        Where a load balancer spreads a call's webhooks over hosts, the version a host
        remembers is mostly out of date, and a step computed from it is computed for nothing:
        then the hosts read first, and go back to trusting what they remember when it is right.
        """
        same = current[0] == attempt.fields[0]
        if attempt.guessed:
            attempt.guessed = False
            self._misses = max(0, min(2 * DOUBT, self._misses + (-1 if same else 1)))
        return same

    async def _read(self, wire: Wire, lookup: str) -> Fields:
        fields: Fields = checked(
            (await send(wire, ("HMGET", at.conversation(lookup), *at.FIELDS)))[0]
        )
        self._know(lookup, fields)
        return fields

    async def _landed(self, write: Write) -> bool:
        wire = self._wire()
        try:
            async with asyncio.timeout(TIMEOUT):
                token = checked((await send(wire, ("HGET", write.key, "v")))[0])
                if token != write.token:
                    return False
                await write.index(wire)  # the part beside the script
                return True
        except (*UNREACHED, RedisError) as exc:
            raise store_error(self._where, exc) from exc
