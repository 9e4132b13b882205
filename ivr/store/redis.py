"""The Redis store: for several workers on several hosts sharing one Redis server.

Updates are optimistic: WATCH the conversation's keys, compute, write in MULTI/EXEC, and start
again if another worker wrote first. Live sessions expire with Redis's own TTL; every session
also stays in the history, like the SQLite store's.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import redis

from ivr.engine.session import Session
from ivr.store.base import Change, EffectsOf, MessageRecord, T
from ivr.store.redis_outbox import RedisOutbox, queue_effects
from ivr.store.redis_queries import RedisQueries

PREFIX = "ivr:"


class RedisStore(RedisOutbox, RedisQueries):
    def __init__(self, url: str) -> None:
        # decode_responses gives str throughout; redis-py's stubs can't express that.
        self._redis: Any = redis.Redis.from_url(url, decode_responses=True)

    def _live_key(self, lookup: str) -> str:
        return f"{PREFIX}live:{lookup}"

    def update(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        live_key = self._live_key(lookup)
        while True:
            with self._redis.pipeline() as pipe:
                try:
                    pipe.watch(live_key)
                    ident = pipe.get(live_key)
                    data = pipe.get(f"{PREFIX}session:{ident}") if ident else None
                    before = Session.from_json(data) if data else None
                    if before is not None and before.ended:
                        before = None
                    after, result = change(before)
                    done = effects(result) if effects is not None else None
                    if after is None and not done:
                        pipe.unwatch()
                        return result
                    message_ids = [self._next_message_id() for _ in done.messages] if done else []
                    pipe.multi()
                    if done:
                        for message, number in zip(done.messages, message_ids, strict=True):
                            self._queue_message(pipe, message, number)
                        queue_effects(self._redis, pipe, done)
                    if after is None:
                        pipe.execute()
                        return result
                    if ident is None or before is None or after.key != before.key:
                        ident = uuid.uuid4().hex
                    ms = max(1, int(ttl * 1000))
                    pipe.set(f"{PREFIX}session:{ident}", after.to_json())
                    if after.ended:
                        pipe.delete(live_key)
                    else:
                        pipe.set(live_key, ident, px=ms)
                    started = after.started or time.time()
                    pipe.zadd(f"{PREFIX}history", {ident: started})
                    pipe.zadd(f"{PREFIX}history:{after.flow}", {ident: started})
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another worker changed this conversation first: start again

    def load(self, lookup: str) -> Session | None:
        ident = self._redis.get(self._live_key(lookup))
        data = self._redis.get(f"{PREFIX}session:{ident}") if ident else None
        session = Session.from_json(data) if data else None
        return None if session is None or session.ended else session

    def history(self, flow: str | None = None, last: int = 20) -> list[Session]:
        key = f"{PREFIX}history:{flow}" if flow else f"{PREFIX}history"
        idents = self._redis.zrevrange(key, 0, last - 1)
        datas = self._redis.mget([f"{PREFIX}session:{i}" for i in idents]) if idents else []
        return [Session.from_json(d) for d in datas if d]

    def add_message(self, message: MessageRecord) -> None:
        pipe = self._redis.pipeline()
        self._queue_message(pipe, message, self._next_message_id())
        pipe.execute()

    def _next_message_id(self) -> int:
        return int(self._redis.incr(f"{PREFIX}message_id"))

    def _queue_message(self, pipe: Any, message: MessageRecord, ident: int) -> None:
        record = {**message.__dict__, "id": ident, "media": list(message.media)}
        pipe.set(f"{PREFIX}message:{ident}", json.dumps(record))
        pipe.zadd(f"{PREFIX}messages", {str(ident): ident})
        pipe.zadd(f"{PREFIX}messages:{message.flow}", {str(ident): ident})
        if message.url:
            pipe.set(f"{PREFIX}message_url:{message.url}", ident)
        pipe.set(f"{PREFIX}message_conv:{message.conversation}", ident)

    def set_transcription(self, conversation: str, url: str, text: str) -> bool:
        released = self.release_notes(conversation, url, text)
        ident = self._redis.get(f"{PREFIX}message_url:{url}") if url else None
        ident = ident or self._redis.get(f"{PREFIX}message_conv:{conversation}")
        if not ident:
            return released
        key = f"{PREFIX}message:{ident}"
        data = self._redis.get(key)
        if not data:
            return released
        record = json.loads(data)
        record["transcription"] = text
        self._redis.set(key, json.dumps(record))
        return True

    def messages(self, flow: str | None = None, last: int = 20) -> list[MessageRecord]:
        key = f"{PREFIX}messages:{flow}" if flow else f"{PREFIX}messages"
        idents = self._redis.zrevrange(key, 0, last - 1)
        datas = self._redis.mget([f"{PREFIX}message:{i}" for i in idents]) if idents else []
        found = []
        for d in datas:
            if d:
                record = json.loads(d)
                record["media"] = tuple(record.get("media", ()))
                found.append(MessageRecord(**record))
        return found

    def set_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        self._redis.hset(f"{PREFIX}opt_out:{number}", ours, "1" if opted_out else "0")
        self._redis.hset(f"{PREFIX}opt_out_at:{number}", ours, time.time())

    def opted_out(self, number: str, ours: str = "") -> bool:
        key = f"{PREFIX}opt_out:{number}"
        if ours:
            return bool(self._redis.hget(key, ours) == "1")
        return "1" in self._redis.hvals(key)

    def keep_flow(self, name: str, version: str, source: str) -> None:
        self._redis.hsetnx(f"{PREFIX}flows", version, json.dumps([name, source]))

    def flow_source(self, version: str) -> tuple[str, str] | None:
        data = self._redis.hget(f"{PREFIX}flows", version)
        if not data:
            return None
        name, source = json.loads(data)
        return str(name), str(source)

    def close(self) -> None:
        self._redis.close()
