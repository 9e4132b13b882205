"""Where the Redis store keeps things.

Every key of one conversation carries the hash tag of its lookup (`{...}`), so Redis Cluster
keeps them in one slot and the script may touch them together:

- `ivr:conv:{LOOKUP}`: a hash, the conversation on that lookup: `v` (a token that changes at
  every write), `key` (the session's key), `data` (the session as JSON), `live` (when it stops
  being live; 0 once ended). It expires the retention after it ended, or after its time-out.
- `ivr:conv:{LOOKUP}:KEY`: an earlier conversation on the same lookup (a texter's last one),
  renamed there, expiry and all, when a new one begins.
- `ivr:history` and `ivr:history:FLOW`: sorted sets of `FLOW TAB LOOKUP TAB KEY` by start.
- `ivr:msg:ID`: a kept message (JSON), expiring at the messages' retention; `ivr:messages` and
  `ivr:messages:FLOW` list `ID TAB FLOW` by id; `ivr:msgid` counts them; `ivr:msgurl:{URL}` and
  `ivr:msgconv:{CONVERSATION}` name the message of a recording and of a conversation.
- `ivr:optout:{NUMBER}`: a hash of our numbers to `1` or `0`, and `ivr:optout_at:{NUMBER}`
  to when; `ivr:handled`: messages marked handled; `ivr:flows`: the flow versions;
  the outbox and the switches (see `redis_outbox`); `ivr:lang:{NUMBER}`: a hash of flows to
  the language that number chose last in each. None of these ever expires.
- `ivr:preset:{TOKEN}`: the preset (a session as JSON) of a call we placed, expiring with its
  time-out (see `redis_presets`); no index lists it.

Entries of the sorted sets whose conversation or message has expired are trimmed by `prune`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ivr.engine.session import Session
from ivr.store.base import MessageRecord

PREFIX = "ivr:"
HISTORY = PREFIX + "history"
MESSAGES = PREFIX + "messages"
MESSAGE_ID = PREFIX + "msgid"
FLOWS = PREFIX + "flows"
HANDLED = PREFIX + "handled"
FIELDS = ("v", "key", "data", "live")


def ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def tag(text: str) -> str:
    # Braces inside would end the hash tag early; no lookup or number has any.
    return "{" + text.replace("{", "(").replace("}", ")") + "}"


def conversation(lookup: str) -> str:
    return f"{PREFIX}conv:{tag(lookup)}"


def past_conversation(lookup: str, key: str) -> str:
    return f"{conversation(lookup)}:{key}"


def history_index(flow: str | None) -> str:
    return f"{HISTORY}:{flow}" if flow else HISTORY


def history_entry(session: Session, lookup: str) -> str:
    return f"{session.flow}\t{lookup}\t{session.key}"


def message(ident: int | str) -> str:
    return f"{PREFIX}msg:{ident}"


def messages_index(flow: str | None) -> str:
    return f"{MESSAGES}:{flow}" if flow else MESSAGES


def message_by_url(url: str) -> str:
    return f"{PREFIX}msgurl:{tag(url)}"


def message_by_conversation(conversation: str) -> str:
    return f"{PREFIX}msgconv:{tag(conversation)}"


def opt_out(number: str) -> str:
    return f"{PREFIX}optout:{tag(number)}"


def opt_out_times(number: str) -> str:
    return f"{PREFIX}optout_at:{tag(number)}"


def language(number: str) -> str:
    return f"{PREFIX}lang:{tag(number)}"


def preset(token: str) -> str:
    return f"{PREFIX}preset:{tag(token)}"


def live_session(
    fields: list[str | None], now: float, parsed: Session | None = None
) -> Session | None:
    """The session in a conversation's fields, if it is still live at `now`; `parsed` is
    their session already read from its JSON, when known."""
    _, _, data, live = fields
    if not data or not live or float(live) <= now:
        return None
    session = parsed or Session.from_json(data)
    return None if session.ended else session


def queue_message(pipe: Any, record: MessageRecord, keep_ms: int) -> None:
    """The commands that keep a message (numbered already) for `keep_ms` milliseconds."""
    pipe.set(message(record.id), encode_message(record), px=keep_ms)
    entry = {f"{record.id}\t{record.flow}": record.id}
    pipe.zadd(messages_index(None), entry)
    pipe.zadd(messages_index(record.flow), entry)
    if record.url:
        pipe.set(message_by_url(record.url), record.id, px=keep_ms)
    pipe.set(message_by_conversation(record.conversation), record.id, px=keep_ms)


def encode_message(record: MessageRecord) -> str:
    return json.dumps({**asdict(record), "media": list(record.media)})


def decode_message(data: str) -> MessageRecord:
    fields = json.loads(data)
    fields["media"] = tuple(fields.get("media", ()))
    return MessageRecord(**fields)


async def forget(r: Any, index: str, entries: dict[str, str]) -> None:
    """Take `entries` out of `index` and out of the index of each one's flow."""
    if entries:
        pipe = r.pipeline(transaction=False)
        pipe.zrem(index, *entries)
        for entry, flow_index in entries.items():
            pipe.zrem(flow_index, entry)
        await pipe.execute()
