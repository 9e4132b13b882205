"""The Redis store's outbox and switches.

Items live under `ivr:outbox:{id}` (JSON), and the pending ones in the sorted set
`ivr:outbox:due`, scored by when they may next be tried. A claim is one server-side script: it
takes the due ids and moves their score past the lease, with a token per claim kept beside the
item, so two workers on any hosts never take the same item; finishing checks the token in
another script. An item sent or given up expires after the messages' retention (`DONE` lists
them for `prune` to trim the indexes). Switch changes are kept forever: no key of theirs has a
TTL.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, replace
from typing import Any

from ivr.store.base import Effects, Outgoing, Retention, SwitchChange
from ivr.store.redis_layout import PREFIX, language

DUE = f"{PREFIX}outbox:due"
ALL = f"{PREFIX}outbox:all"
# Items sent or given up, `ID TAB FLOW` by when: their keys expire, these entries are trimmed.
DONE = f"{PREFIX}outbox:done"
OUTBOX_ID = f"{PREFIX}outbox_id"
SWITCHES = f"{PREFIX}switches"

_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local later = tonumber(ARGV[1]) + tonumber(ARGV[2])
for i, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], later, id)
  redis.call('SET', ARGV[4] .. id, ARGV[5] .. i)
end
return ids
"""
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[3] == 'pending' then
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
  return 1
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[6])
redis.call('ZREM', KEYS[3], ARGV[5])
redis.call('PEXPIRE', KEYS[4], ARGV[6])
redis.call('ZADD', KEYS[5], ARGV[7], ARGV[8])
if KEYS[6] ~= KEYS[4] then redis.call('PEXPIRE', KEYS[6], ARGV[6]) end
return 1
"""


def _key(ident: int | str) -> str:
    return f"{PREFIX}outbox:{ident}"


def _claim_key(ident: int | str) -> str:
    return f"{PREFIX}outbox_claim:{ident}"


def _words_key(ident: int | str) -> str:
    return f"{PREFIX}outbox_transcription:{ident}"


def _notes_key(conversation: str) -> str:
    return f"{PREFIX}outbox_notes:{conversation}"


def queue_effects(pipe: Any, effects: Effects, ids: Iterable[int]) -> None:
    """The outbox items (numbered by `ids`) and switch changes an update decided, into `pipe`.

    That is the update's script, which writes them with the session or not at all; a number a
    retried update never used is only a gap.
    """
    for item, ident in zip(effects.outbox, ids, strict=True):
        pipe.set(_key(ident), json.dumps(asdict(replace(item, id=ident))))
        pipe.zadd(DUE, {str(ident): item.due})
        pipe.zadd(ALL, {str(ident): ident})
        pipe.zadd(f"{ALL}:{item.flow}", {str(ident): ident})
        if item.kind == "note":
            pipe.sadd(_notes_key(item.conversation), ident)
    for change in effects.switches:
        queue_switch(pipe, change)
    for choice in effects.languages:
        pipe.hset(language(choice.number), choice.flow, choice.language)


def read_switches(found: dict[str, str]) -> dict[str, SwitchChange]:
    """The switches from the hash of their last changes."""
    return {name: SwitchChange(**json.loads(data)) for name, data in sorted(found.items())}


def queue_switch(pipe: Any, change: SwitchChange) -> None:
    data = json.dumps(asdict(change))
    pipe.hset(SWITCHES, change.name, data)
    pipe.lpush(f"{PREFIX}switch_changes", data)


class RedisOutbox:
    """The outbox and switch methods of `RedisStore`."""

    _redis: Any
    retention: Retention
    _do: Any  # the store's: run a command on the event loop's client (once more if need be)

    def _items(self, idents: list[str]) -> list[Outgoing]:
        if not idents:
            return []
        datas = self._redis.mget([_key(i) for i in idents])
        claims = self._redis.mget([_claim_key(i) for i in idents])
        words = self._redis.mget([_words_key(i) for i in idents])
        found = []
        for data, claim, text in zip(datas, claims, words, strict=True):
            if data:
                item = Outgoing(**json.loads(data))
                found.append(replace(item, claim=claim or "", transcription=text or ""))
        return found

    def claim_outgoing(self, now: float, lease: float, limit: int) -> list[Outgoing]:
        token = uuid.uuid4().hex + ":"
        idents = self._redis.eval(
            _CLAIM, 1, DUE, now, lease, limit, f"{PREFIX}outbox_claim:", token
        )
        return [replace(item, due=now + lease) for item in self._items(idents)]

    def finish_outgoing(self, item: Outgoing) -> bool:
        # Once sent or given up, the item is kept as long as the messages, then expires.
        data = json.dumps(asdict(replace(item, claim="", transcription="")))
        words = _words_key(item.id)
        notes = _notes_key(item.conversation) if item.kind == "note" else words
        keys = (_claim_key(item.id), _key(item.id), DUE, words, DONE, notes)
        keep = max(1, int(self.retention.messages * 1000))
        entry = f"{item.id}\t{item.flow}"
        args = (item.claim, data, item.status, item.due, item.id, keep, item.done, entry)
        return bool(self._redis.eval(_FINISH, len(keys), *keys, *args))

    async def _prune_outbox(self, batch: int) -> int:
        """Trim the indexes of up to `batch` items whose keys have expired."""
        since = time.time() - self.retention.messages
        entries: list[str] = await self._do(
            lambda r: r.zrangebyscore(DONE, "-inf", since, start=0, num=batch)
        )
        if not entries:
            return 0

        async def forget(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            for entry in entries:
                ident, flow = entry.split("\t", 1)
                pipe.zrem(ALL, ident)
                pipe.zrem(f"{ALL}:{flow}", ident)
            pipe.zrem(DONE, *entries)
            await pipe.execute()

        await self._do(forget)
        return len(entries)

    def release_notes(self, conversation: str, url: str, text: str) -> bool:
        idents = self._redis.smembers(_notes_key(conversation))
        released = False
        now = time.time()
        for item in self._items(sorted(idents)):
            if item.status != "pending" or (url and item.recording != url):
                continue
            released = True
            self._redis.set(_words_key(item.id), text)
            if not self._redis.exists(_claim_key(item.id)):
                # Only ever sooner: LT leaves a due time already past as it is.
                self._redis.zadd(DUE, {str(item.id): now}, lt=True)
        return released

    def outgoing(self, flow: str | None = None, last: int = 20) -> list[Outgoing]:
        key = f"{ALL}:{flow}" if flow else ALL
        return self._items(self._redis.zrevrange(key, 0, last - 1))

    def switches(self) -> dict[str, SwitchChange]:
        return read_switches(self._redis.hgetall(SWITCHES))

    async def aswitches(self) -> dict[str, SwitchChange]:
        # On the webhook's path: through the store's async client, never the blocking one.
        return read_switches(await self._do(lambda r: r.hgetall(SWITCHES)))

    def set_switch(self, change: SwitchChange) -> None:
        pipe = self._redis.pipeline()
        queue_switch(pipe, change)
        pipe.execute()

    def switch_history(self, name: str | None = None, last: int = 20) -> list[SwitchChange]:
        # Changes are few (people flip switches by hand): reading them all is cheap.
        changes = [
            SwitchChange(**json.loads(d))
            for d in self._redis.lrange(f"{PREFIX}switch_changes", 0, -1)
        ]
        return [c for c in changes if name is None or c.name == name][:last]
