"""The write of an update to the Redis store: one script writes it all, or nothing.

The script writes the conversation only if no one wrote it since the version the step was
computed from (its token is still that one), and with it what the step decided beside it:
messages kept, texts and notes for the outbox, switches turned. Either all of it is written, or
none and the script answers with the conversation as it is, for the store to compute again. A
new conversation's history entry goes in the same round trip, beside the script.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field, replace

from redis.exceptions import NoScriptError

from ivr.engine.session import Session
from ivr.store import redis_layout as at
from ivr.store.base import Effects
from ivr.store.redis_outbox import OUTBOX_ID, queue_effects
from ivr.store.redis_wire import Wire, checked, send

Fields = list[str | None]  # a conversation's `FIELDS`, None where absent

# KEYS[1] the conversation, KEYS[2] where an earlier one on the same lookup goes, then the keys
# of the other commands. ARGV: the token computed from ('' when absent), the new token, the
# session's key ('' to leave the session as it is), its JSON, when it stops being live, the
# key's expiry in ms, '1' to move the earlier conversation aside, the other commands as JSON.
# It answers 1 when it wrote, else the conversation's fields (`FIELDS`) as they are.
SCRIPT = """
local current = redis.call('HGET', KEYS[1], 'v') or ''
if current ~= ARGV[1] then return redis.call('HMGET', KEYS[1], 'v', 'key', 'data', 'live') end
if ARGV[3] ~= '' then
  if ARGV[7] == '1' and current ~= '' then redis.call('RENAME', KEYS[1], KEYS[2]) end
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'key', ARGV[3], 'data', ARGV[4], 'live', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
elseif current ~= '' then
  redis.call('HSET', KEYS[1], 'v', ARGV[2])
end
if ARGV[8] ~= '[]' then
  for _, command in ipairs(cjson.decode(ARGV[8])) do
    command[2] = KEYS[command[2]]
    redis.call(unpack(command))
  end
end
return 1
"""
SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()


class Commands:
    """Commands noted down to run inside the script, each key declared among its KEYS.

    It answers the pipeline methods the store's writers use, so the same code that keeps a
    message or queues an outbox item in a pipeline can put it in the script.
    """

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.noted: list[list[object]] = []

    def _note(self, name: str, key: str, *args: object) -> None:
        self.keys.append(key)
        # Everything as text: Lua's JSON would round the digits of a timestamp.
        self.noted.append([name, 2 + len(self.keys), *(str(a) for a in args)])

    def set(self, key: str, value: object, px: int | None = None) -> None:
        self._note("SET", key, value, *(("PX", px) if px else ()))

    def zadd(self, key: str, mapping: dict[str, float], nx: bool = False) -> None:
        for member, score in mapping.items():
            self._note("ZADD", key, *(("NX",) if nx else ()), score, member)

    def sadd(self, key: str, *members: object) -> None:
        self._note("SADD", key, *members)

    def hset(self, key: str, name: str, value: object) -> None:
        self._note("HSET", key, name, value)

    def lpush(self, key: str, *values: object) -> None:
        self._note("LPUSH", key, *values)


async def numbered(wire: Wire, done: Effects, keep_ms: int) -> Commands:
    """What a step decided beside the session, numbered (one more round trip)."""
    counts = len(done.messages), len(done.outbox)
    last_message, last_item = (
        map(checked, await send(
            wire, ("INCRBY", at.MESSAGE_ID, counts[0]), ("INCRBY", OUTBOX_ID, counts[1])
        )) if any(counts) else (0, 0)
    )  # fmt: skip
    commands = Commands()
    for i, message in enumerate(done.messages, start=last_message - counts[0] + 1):
        at.queue_message(commands, replace(message, id=i), keep_ms)
    queue_effects(commands, done, range(last_item - counts[1] + 1, last_item + 1))
    return commands


@dataclass(frozen=True)
class Write:
    key: str
    aside: str  # where an earlier conversation on the same lookup goes
    args: tuple[str, ...]
    entry: tuple[str, str, float] | None  # (history entry, its flow, its start) when new
    fields: Fields  # the conversation's, once written
    session: Session | None  # the session in them
    commands: Commands = field(default_factory=Commands)

    @classmethod
    def of(
        cls,
        lookup: str,
        fields: Fields,
        after: Session | None,
        times: tuple[float, float, float],  # now, the time-out, the history's retention
        commands: Commands,
        session: Session | None = None,  # the session `fields` hold, when `after` is None
    ) -> Write:
        now, ttl, keep = times
        current, stored = fields[0] or "", fields[1] or ""
        new = after is not None and (not current or stored != after.key)
        token = secrets.token_hex(8)
        key = at.conversation(lookup)
        aside = at.past_conversation(lookup, stored) if current and new else key
        noted = json.dumps(commands.noted) if commands.noted else "[]"
        if after is None:  # only what the step decided beside the session
            args = (current, token, "", "", "0", "1", "0", noted)
            kept = [token, *fields[1:]] if current else fields
            return cls(key, aside, args, None, kept, session, commands)
        data, live = after.to_json(), "0" if after.ended else repr(now + ttl)
        args = (
            current,
            token,
            after.key,
            data,
            live,
            str(at.ms(keep if after.ended else ttl + keep)),
            "1" if current and new else "0",
            noted,
        )
        entry = (at.history_entry(after, lookup), after.flow, after.started or now)
        kept = [token, after.key, data, live]
        return cls(key, aside, args, entry if new else None, kept, after, commands)

    @property
    def token(self) -> str:
        return self.args[1]

    async def on(self, wire: Wire) -> Fields | None:
        """Run the write on `wire`: None when written, else the conversation as it is
        (someone else wrote it since the version it was computed from)."""
        keys = (self.key, self.aside, *self.commands.keys)
        script: tuple[str | int, ...] = (len(keys), *keys, *self.args)
        done, *indexed = await send(wire, ("EVALSHA", SHA, *script), *self._entry())
        if isinstance(done, NoScriptError):  # Redis restarted, or never had it
            checked((await send(wire, ("SCRIPT", "LOAD", SCRIPT)))[0])
            done = (await send(wire, ("EVALSHA", SHA, *script)))[0]
        for reply in (done, *indexed):
            checked(reply)
        return None if done == 1 else list(done)

    async def index(self, wire: Wire) -> None:
        """Add a new conversation's history entry (when a broken write may have left it out)."""
        for reply in await send(wire, *self._entry()) if self.entry else ():
            checked(reply)

    def _entry(self) -> list[tuple[str, ...]]:
        if self.entry is None:
            return []
        entry, flow, started = self.entry
        return [
            ("ZADD", index, "NX", repr(started), entry)
            for index in (at.HISTORY, at.history_index(flow))
        ]
