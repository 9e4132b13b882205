"""The Redis store: for several workers on several hosts sharing one Redis server.

It talks to Redis with `redis.asyncio` (hiredis reads the replies) from the event loop that
serves the webhooks; `redis_layout` says where things are kept. An update (`redis_update`) is
a script that writes the conversation only if it is still the version the step was computed
from, on a connection the updates share (`redis_wire`); other commands take a bounded pool. A
command that doesn't reach Redis is tried once more (an update, once in all); then
`StoreError`, which the webhooks answer with the channel's apology. Blocking methods run the
same code on a loop of their own.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ConnectionError, RedisError, TimeoutError

from ivr.engine.session import Session
from ivr.store import redis_layout as at
from ivr.store.base import MessageRecord, Retention, StoreError
from ivr.store.blocking import Blocking
from ivr.store.redis_languages import RedisLanguages
from ivr.store.redis_outbox import RedisOutbox
from ivr.store.redis_presets import RedisPresets
from ivr.store.redis_queries import RedisQueries
from ivr.store.redis_update import POOL_SIZE, RETRY_PAUSE, TIMEOUT, RedisUpdates
from ivr.store.redis_wire import store_error
from ivr.store.threaded import in_thread

R = TypeVar("R")
POOL_WAIT = 5.0  # seconds a command waits for a free connection
PRUNE_BATCH = 500


class RedisStore(RedisUpdates, RedisOutbox, RedisQueries, RedisLanguages, RedisPresets, Blocking):
    def __init__(self, url: str, retention: Retention | None = None) -> None:
        RedisUpdates.__init__(self)
        self.url = url
        self.retention = retention or Retention()
        parts = urlsplit(url)
        self._where = f"{parts.hostname or parts.path}:{parts.port or 6379}"  # no password
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._own_lock = threading.Lock()
        self._prune_from = 0
        # The outbox and switches, read and written by delivery and the command line from
        # threads, go through a blocking client of their own.
        self._redis = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
            url, max_connections=8, timeout=POOL_WAIT, decode_responses=True,
            socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT))  # fmt: skip

    async def aopen(self) -> None:
        try:  # once, not twice as `_do` would: a start waits for no one
            await self._client().ping()
        except AuthenticationError as exc:  # no password in it: Redis never repeats it
            raise StoreError(f"Redis at {self._where} refused the password: {exc}") from exc
        except RedisError as exc:
            raise store_error(self._where, exc) from exc

    # Connections belong to the event loop that opened them: each loop gets its own client.
    def _client(self) -> Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            pool = BlockingConnectionPool.from_url(
                self.url,
                max_connections=POOL_SIZE,
                timeout=POOL_WAIT,
                decode_responses=True,
                retry=Retry(NoBackoff(), 0),  # one more try is ours to make: see `_do`
                socket_timeout=TIMEOUT,
                socket_connect_timeout=TIMEOUT,
            )
            client = self._clients[loop] = Redis(connection_pool=pool)
        return client

    async def _do(self, command: Callable[[Any], Awaitable[Any]], retry: bool = True) -> Any:
        """Run `command`; when Redis can't be reached, once more (on a fresh connection)."""
        for last in (not retry, True):
            try:
                return await command(self._client())
            except (ConnectionError, TimeoutError) as exc:
                if last:
                    raise store_error(self._where, exc) from exc
                await asyncio.sleep(RETRY_PAUSE)
            except RedisError as exc:
                raise store_error(self._where, exc) from exc
        raise AssertionError("unreachable")

    # Conversations.

    async def aload(self, lookup: str) -> Session | None:
        key = at.conversation(lookup)
        fields: list[str | None] = await self._do(lambda r: r.hmget(key, at.FIELDS))
        return at.live_session(fields, time.time())

    async def _history(self, flow: str | None, last: int) -> list[Session]:
        entries: list[str] = await self._do(
            lambda r: r.zrevrange(at.history_index(flow), 0, last - 1)
        )
        found = await self._find(entries, "data")
        return [Session.from_json(data) for data in found.values() if data]

    async def _find(self, entries: list[str], field: str) -> dict[str, str | None]:
        """`field` of the conversations of history entries: None for one that expired."""

        async def read(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            for entry in entries:
                _, lookup, key = entry.split("\t", 2)
                pipe.hmget(at.conversation(lookup), ["key", field])
                pipe.hget(at.past_conversation(lookup, key), field)
            return await pipe.execute()  # type: ignore[no-any-return]

        replies = await self._do(read) if entries else []
        found: dict[str, str | None] = {}
        for i, entry in enumerate(entries):
            (key_now, value_now), value_before = replies[2 * i], replies[2 * i + 1]
            found[entry] = value_now if key_now == entry.split("\t", 2)[2] else value_before
        return found

    def history(self, flow: str | None = None, last: int = 20) -> list[Session]:
        return self._run(self._history(flow, last))

    # Messages.

    async def aadd_message(self, message: MessageRecord) -> None:
        record = replace(message, id=int(await self._do(lambda r: r.incr(at.MESSAGE_ID))))

        async def write(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            at.queue_message(pipe, record, at.ms(self.retention.messages))
            await pipe.execute()

        await self._do(write)

    def add_message(self, message: MessageRecord) -> None:
        self._run(self.aadd_message(message))

    async def aset_transcription(self, conversation: str, url: str, text: str) -> bool:
        released = await in_thread(self.release_notes, conversation, url, text)

        async def write(r: Any) -> bool:
            ident = await r.get(at.message_by_url(url)) if url else None
            ident = ident or await r.get(at.message_by_conversation(conversation))
            data = await r.get(at.message(ident)) if ident else None
            if not data:
                return released
            record = replace(at.decode_message(data), transcription=text)
            await r.set(at.message(ident), at.encode_message(record), keepttl=True)
            return True

        return bool(await self._do(write))

    async def _messages(self, flow: str | None, last: int) -> list[MessageRecord]:
        entries: list[str] = await self._do(
            lambda r: r.zrevrange(at.messages_index(flow), 0, last - 1)
        )
        keys = [at.message(e.split("\t", 1)[0]) for e in entries]
        datas: list[str | None] = await self._do(lambda r: r.mget(keys)) if keys else []
        return [at.decode_message(d) for d in datas if d]

    def messages(self, flow: str | None = None, last: int = 20) -> list[MessageRecord]:
        return self._run(self._messages(flow, last))

    # Opt-outs and flow versions: kept for good.

    async def aset_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        async def write(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            pipe.hset(at.opt_out(number), ours, "1" if opted_out else "0")
            pipe.hset(at.opt_out_times(number), ours, repr(time.time()))
            await pipe.execute()

        await self._do(write)

    async def aopted_out(self, number: str, ours: str = "") -> bool:
        key = at.opt_out(number)
        if ours:
            return bool(await self._do(lambda r: r.hget(key, ours)) == "1")
        return "1" in await self._do(lambda r: r.hvals(key))

    def keep_flow(self, name: str, version: str, source: str) -> None:
        value = json.dumps([name, source])
        self._run(self._do(lambda r: r.hsetnx(at.FLOWS, version, value)))

    def flow_source(self, version: str) -> tuple[str, str] | None:
        data = self._run(self._do(lambda r: r.hget(at.FLOWS, version)))
        if not data:
            return None
        name, source = json.loads(data)
        return str(name), str(source)

    # Retention: the keys expire by themselves; the indexes are trimmed here.

    async def prune(self) -> int:
        outbox = await self._prune_outbox(PRUNE_BATCH)
        return await self._prune_history() + await self._prune_messages() + outbox

    async def _prune_history(self) -> int:
        # Only a conversation that began before the retention began can be gone.
        since = time.time() - self.retention.history
        start = self._prune_from
        entries: list[str] = await self._do(
            lambda r: r.zrangebyscore(at.HISTORY, "-inf", since, start=start, num=PRUNE_BATCH)
        )
        found = await self._find(entries, "key")
        gone = {e: at.history_index(e.split("\t", 1)[0]) for e, key in found.items() if not key}
        await self._do(lambda r: at.forget(r, at.HISTORY, gone))
        # Conversations still kept (a long call's) are stepped over next time.
        self._prune_from = start + len(entries) - len(gone) if len(entries) == PRUNE_BATCH else 0
        return len(gone)

    async def _prune_messages(self) -> int:
        # Messages all expire after the same time, oldest first: look at the oldest.
        entries: list[str] = await self._do(lambda r: r.zrange(at.MESSAGES, 0, PRUNE_BATCH - 1))
        keys = [at.message(e.split("\t", 1)[0]) for e in entries]
        datas: list[str | None] = await self._do(lambda r: r.mget(keys)) if keys else []
        gone = {
            e: at.messages_index(e.split("\t", 1)[1])
            for e, data in zip(entries, datas, strict=True)
            if data is None
        }
        await self._do(lambda r: at.forget(r, at.MESSAGES, gone))
        if gone:  # and whether they were handled
            handled = [e.split("\t", 1)[0] for e in gone]
            await self._do(lambda r: r.hdel(at.HANDLED, *handled))
        return len(gone)

    async def _close_on_loop(self) -> None:
        await self._close_wire()
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose(close_connection_pool=True)

    def close(self) -> None:
        self._stop_own_loop()
        self._redis.close()
        self._redis.connection_pool.disconnect()

    async def aclose(self) -> None:
        await self._close_on_loop()
        self.close()
