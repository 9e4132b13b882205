"""The console's queries on the Redis store.

The history is a sorted set of session ids by start time: the filters walk it newest first, a
batch at a time, so a listing reads only as much of it as it shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ivr.engine.session import Session
from ivr.store.base import MessageRecord
from ivr.store.queries import Filters, Handled, OptOut

PREFIX = "ivr:"
BATCH = 500


class RedisQueries:
    _redis: Any

    def _walk(self, key: str, since: float = 0.0, until: float = 0.0) -> Iterator[Session]:
        """The sessions of the history sorted set `key`, newest first, in a time window."""
        top: float | str = f"({until}" if until else "+inf"
        offset = 0
        while True:
            idents = self._redis.zrevrangebyscore(
                key, top, since or "-inf", start=offset, num=BATCH
            )
            if not idents:
                return
            datas = self._redis.mget([f"{PREFIX}session:{i}" for i in idents])
            yield from (Session.from_json(d) for d in datas if d)
            offset += len(idents)

    def conversations(self, filters: Filters, last: int = 100) -> list[Session]:
        key = f"{PREFIX}history:{filters.flow}" if filters.flow else f"{PREFIX}history"
        found: list[Session] = []
        for session in self._walk(key, filters.since, filters.until):
            if filters.admits(session):
                found.append(session)
                if len(found) >= last:
                    break
        return found

    def conversation(self, key: str) -> Session | None:
        return next((s for s in self._walk(f"{PREFIX}history") if s.key == key), None)

    def message(self, message_id: int) -> MessageRecord | None:
        data = self._redis.get(f"{PREFIX}message:{message_id}")
        if not data:
            return None
        record = json.loads(data)
        record["media"] = tuple(record.get("media", ()))
        return MessageRecord(**record)

    def set_handled(self, message_id: int, by: str, at: float) -> None:
        if by:
            self._redis.hset(f"{PREFIX}handled", str(message_id), json.dumps([by, at]))
        else:
            self._redis.hdel(f"{PREFIX}handled", str(message_id))

    def handled(self, message_ids: list[int]) -> dict[int, Handled]:
        if not message_ids:
            return {}
        values = self._redis.hmget(f"{PREFIX}handled", [str(i) for i in message_ids])
        return {i: Handled(*json.loads(v)) for i, v in zip(message_ids, values, strict=True) if v}

    def opt_outs(self) -> list[OptOut]:
        found = []
        for key in self._redis.scan_iter(f"{PREFIX}opt_out:*"):
            number = key.removeprefix(f"{PREFIX}opt_out:")
            times = self._redis.hgetall(f"{PREFIX}opt_out_at:{number}")
            for ours, out in self._redis.hgetall(key).items():
                if out == "1":
                    found.append(OptOut(number, ours, float(times.get(ours, 0.0))))
        return sorted(found, key=lambda o: o.at, reverse=True)
