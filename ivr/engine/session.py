"""The state of one conversation, kept outside the engine and saved by a store.

A session is a plain record: the engine reads one and returns a new one, the stores turn it to
and from JSON. Nothing here knows about HTTP, TwiML or databases.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Literal, TypedDict, Unpack

if TYPE_CHECKING:
    from ivr.flow.model import Flow

Channel = Literal["voice", "sms"]
# What the conversation waits for: an answer, a recording, the end of a dial, the reply to a
# `fetch`, a staff member to take the call on hold (`queue`), or nothing yet.
Waiting = Literal["", "answer", "record", "dial", "fetch", "queue"]


@dataclass(frozen=True)
class Step:
    """One entry of the path: a state entered, or an answer given in it."""

    at: float
    state: str
    answer: str | None = None
    # enter | answer | no_input | no_match | record | dial | fetch | queue | end, or language
    # (then `answer` is the language the conversation is in from there on)
    event: str = "enter"


@dataclass(frozen=True)
class Session:
    key: str  # the CallSid, or "sms:<our number>:<their number>"
    flow: str
    version: str
    channel: Channel
    caller: str = ""
    called: str = ""
    state: str = ""
    waiting: Waiting = ""
    seq: int = 0  # bumped at each wait: a webhook for an older wait is stale
    no_input: int = 0
    no_match: int = 0
    vars: dict[str, str] = field(default_factory=dict)
    path: tuple[Step, ...] = ()
    started: float = 0.0
    updated: float = 0.0
    ended: bool = False
    outcome: str = ""  # why it ended: completed, hangup, failed, stop, timeout, error ...
    # The last webhook applied (a text's MessageSid, a call's callback and its seq) and the
    # TwiML it was answered with: Twilio's retry of it gets the same answer, applied once.
    webhook: str = ""
    reply: str = ""
    announced: int = -1  # on hold: the seconds waited when the position was last said (-1 never)

    @property
    def failures(self) -> int:
        return self.no_input + self.no_match

    def evolve(self, **changes: Unpack[Changes]) -> Session:
        """This session with `changes` laid over it (the type checker knows each field's type)."""
        # The engine makes several sessions a step. `dataclasses.replace` goes through the
        # checks and `__init__` for every field; copying the fields with the changes laid over
        # them makes the same session in a fraction of the time.
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def to_json(self) -> str:
        # Field by field rather than with `asdict`, which deep-copies every value on the way:
        # it was the dearest part of saving a session, and the JSON is the same.
        data = {name: getattr(self, name) for name in _FIELDS}
        data["path"] = [[s.at, s.state, s.answer, s.event] for s in self.path]
        return _encode(data)

    @classmethod
    def from_json(cls, text: str) -> Session:
        data = json.loads(text)
        data["path"] = tuple(Step(*item) for item in data.get("path", ()))
        return cls(**data)


class Changes(TypedDict, total=False):
    """The fields of `Session`, each optional: what `evolve` may change, with its type."""

    key: str
    flow: str
    version: str
    channel: Channel
    caller: str
    called: str
    state: str
    waiting: Waiting
    seq: int
    no_input: int
    no_match: int
    vars: dict[str, str]
    path: tuple[Step, ...]
    started: float
    updated: float
    ended: bool
    outcome: str
    webhook: str
    reply: str
    announced: int


_FIELDS = tuple(f.name for f in fields(Session))
_encode = json.JSONEncoder(separators=(",", ":")).encode


def conversation_key(ours: str, theirs: str) -> str:
    return f"sms:{ours}:{theirs}"


def lookups_of(key: str) -> tuple[str, str]:
    """Where a store may find the conversation `key`: a call's key is its lookup (the CallSid);
    a text conversation's is its lookup and when it began (`new_conversation`)."""
    return key, key.rpartition(":")[0]


def new_conversation(
    flow: Flow, ours: str, theirs: str, at: dt.datetime, variables: Mapping[str, str] = {}
) -> Session:
    """A fresh text conversation between one of our numbers and a texter."""
    lookup = conversation_key(ours, theirs)
    return Session(
        key=f"{lookup}:{at.timestamp():.6f}",
        flow=flow.name,
        version=flow.version,
        channel="sms",
        caller=theirs,
        called=ours,
        vars={**variables, "caller": theirs, "called": ours, "channel": "sms"},
    )


def new_call(
    flow: Flow,
    sid: str,
    caller: str,
    called: str,
    variables: Mapping[str, str] = {},
    *,
    version: str | None = None,
    started: float = 0.0,
) -> Session:
    """A call's session before its first step; `caller` is the person, whoever dialled."""
    return Session(
        key=sid,
        flow=flow.name,
        version=version or flow.version,
        channel="voice",
        caller=caller,
        called=called,
        started=started,
        vars={**variables, "caller": caller, "called": called, "channel": "voice"},
    )
