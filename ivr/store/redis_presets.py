"""Call presets in Redis: one key per token, the session as JSON, expiring by itself.

Apart from the conversations' keys and indexes, so that no history or console page lists a call
that was only asked for; nothing needs pruning.
"""

from __future__ import annotations

from ivr.engine.session import Session
from ivr.store import redis_layout as at
from ivr.store.blocking import Blocking


class RedisPresets(Blocking):
    """The preset methods of `RedisStore`."""

    def keep_preset(self, token: str, session: Session, ttl: float) -> None:
        data, ms = session.to_json(), at.ms(ttl)
        self._run(self._do(lambda r: r.set(at.preset(token), data, px=ms)))

    async def apreset(self, token: str) -> Session | None:
        data = await self._do(lambda r: r.get(at.preset(token)))
        return Session.from_json(data) if data else None

    def preset(self, token: str) -> Session | None:
        return self._run(self.apreset(token))

    async def adrop_preset(self, token: str) -> None:
        await self._do(lambda r: r.delete(at.preset(token)))

    def drop_preset(self, token: str) -> None:
        self._run(self.adrop_preset(token))
