"""The console's queries on the Redis store.

The history is a sorted set of conversations by start time (see `redis_layout`): the filters
walk it newest first, a batch at a time, so a listing reads only as much of it as it shows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ivr.engine.session import Session
from ivr.store import redis_layout as layout
from ivr.store.base import MessageRecord
from ivr.store.blocking import Blocking
from ivr.store.queries import Filters, Handled, OptOut

BATCH = 500


class RedisQueries(Blocking):
    async def _find(self, entries: list[str], field: str) -> dict[str, str | None]:
        raise NotImplementedError

    async def _walk(
        self, index: str, since: float = 0.0, until: float = 0.0
    ) -> AsyncIterator[Session]:
        """The conversations of a history index, newest first, in a time window."""
        top: float | str = f"({until}" if until else "+inf"
        offset = 0
        while True:
            entries = await self._page(index, top, since or "-inf", offset)
            if not entries:
                return
            for data in (await self._find(entries, "data")).values():
                if data:
                    yield Session.from_json(data)
            offset += len(entries)

    async def _page(self, index: str, top: float | str, bottom: float | str, start: int) -> Any:
        return await self._do(
            lambda r: r.zrevrangebyscore(index, top, bottom, start=start, num=BATCH)
        )

    async def _conversations(self, filters: Filters, last: int) -> list[Session]:
        found: list[Session] = []
        async for session in self._walk(
            layout.history_index(filters.flow), filters.since, filters.until
        ):
            if filters.admits(session):
                found.append(session)
                if len(found) >= last:
                    break
        return found

    def conversations(self, filters: Filters, last: int = 100) -> list[Session]:
        return self._run(self._conversations(filters, last))

    async def _conversation(self, key: str) -> Session | None:
        # A call's key is its lookup; a text conversation's is its lookup and when it began.
        # So it is found where its lookup says, never by walking the history: a webhook for
        # a call no one knows asks this too.
        entries = [f"\t{lookup}\t{key}" for lookup in (key, key.rpartition(":")[0]) if lookup]
        for data in (await self._find(entries, "data")).values():
            if data:
                return Session.from_json(data)
        return None

    def conversation(self, key: str) -> Session | None:
        return self._run(self._conversation(key))

    def message(self, message_id: int) -> MessageRecord | None:
        data = self._run(self._do(lambda r: r.get(layout.message(message_id))))
        return layout.decode_message(data) if data else None

    def set_handled(self, message_id: int, by: str, at: float) -> None:
        if by:
            value = json.dumps([by, at])
            self._run(self._do(lambda r: r.hset(layout.HANDLED, str(message_id), value)))
        else:
            self._run(self._do(lambda r: r.hdel(layout.HANDLED, str(message_id))))

    def handled(self, message_ids: list[int]) -> dict[int, Handled]:
        if not message_ids:
            return {}
        fields = [str(i) for i in message_ids]
        values = self._run(self._do(lambda r: r.hmget(layout.HANDLED, fields)))
        return {i: Handled(*json.loads(v)) for i, v in zip(message_ids, values, strict=True) if v}

    async def _opt_outs(self) -> list[OptOut]:
        async def read(r: Any) -> list[OptOut]:
            found = []
            async for key in r.scan_iter(layout.opt_out("*").replace("{*}", "*")):
                number = key.removeprefix(layout.PREFIX + "optout:")[1:-1]
                times = await r.hgetall(layout.opt_out_times(number))
                found += [
                    OptOut(number, ours, float(times.get(ours, 0.0)))
                    for ours, out in (await r.hgetall(key)).items()
                    if out == "1"
                ]
            return found

        found: list[OptOut] = await self._do(read)
        return sorted(found, key=lambda o: o.at, reverse=True)

    def opt_outs(self) -> list[OptOut]:
        return self._run(self._opt_outs())
