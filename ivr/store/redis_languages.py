"""The languages callers chose, in Redis: one hash per number, of flows to languages.

Written with the session that chose it (see `redis_outbox.queue_effects`), read when the
number calls or texts the flow again; kept for good, like opt-outs.
"""

from __future__ import annotations

from ivr.store import redis_layout as at
from ivr.store.blocking import Blocking


class RedisLanguages(Blocking):
    """The language methods of `RedisStore`."""

    async def alanguage_of(self, flow: str, number: str) -> str:
        found = await self._do(lambda r: r.hget(at.language(number), flow))
        return str(found or "")

    def language_of(self, flow: str, number: str) -> str:
        return self._run(self.alanguage_of(flow, number))
