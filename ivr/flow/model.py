"""The checked, immutable model of a flow: what the loader builds and the engine runs.

Nothing after the loader sees raw YAML. Every record keeps the line of the YAML node it came
from, so the engine and the tools can point a flow author at the right place.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ivr.flow.fetch import Fetch

Listen = Literal["keys", "speech", "both"]


@dataclass(frozen=True, slots=True)
class Text:
    """Something a caller hears or reads: one string, or a string per language.

    `default` is what is said when the conversation's language has no string of its own: the
    plain string, or the mapping's entry for the flow's language. Its language is
    `default_language` (None: the flow's own).
    """

    default: str
    default_language: str | None = None
    by_language: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def pick(self, language: str | None) -> tuple[str, str | None]:
        """The template to say in `language`, and the language it is written in."""
        found = self.by_language.get(language) if language and self.by_language else None
        if found is None:
            return self.default, self.default_language
        return found, language


@dataclass(frozen=True)
class Prompt:
    """One item of a `say`: spoken text, an audio file, or a pause."""

    kind: Literal["say", "play", "pause"]
    text: str = ""  # the template for `say` in the flow's language, the URL for `play`
    voice: str | None = None
    language: str | None = None
    loop: int = 1
    seconds: int = 1  # for `pause`
    words: Text | None = None  # for `say`: the text in each language (None: `text` alone)


@dataclass(frozen=True)
class Choice:
    """One menu entry: the answers that choose it (as written) and the state it leads to."""

    answers: tuple[str, ...]
    target: str
    line: int = 0


@dataclass(frozen=True)
class Gather:
    digits: int | None = None
    timeout: int = 5
    finish_on_key: str = "#"
    listen: Listen = "keys"
    hints: str | None = None


@dataclass(frozen=True)
class Record:
    max_length: int = 120
    timeout: int = 5
    finish_on_key: str = "1234567890*#"
    beep: bool = True
    transcribe: bool = False


@dataclass(frozen=True)
class Dial:
    numbers: tuple[str, ...]
    timeout: int = 30
    caller_id: str | None = None
    record: bool = False
    queue: str | None = None  # `{queue: NAME}`: take the next caller waiting there instead


@dataclass(frozen=True)
class Queue:
    """Where and how a caller waits on hold: `announce` 0 never says the position."""

    name: str
    music: str | None = None
    announce: int = 60
    max_wait: int = 300


@dataclass(frozen=True)
class TextMessage:
    """A `text` to send: the body, and numbers other than the conversation's (templates)."""

    body: Text
    to: str | None = None  # None: the caller
    sender: str | None = None  # None: the number the caller called


@dataclass(frozen=True)
class Notify:
    """Who hears of the messages a `record` keeps."""

    sms: tuple[str, ...] = ()
    email: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    """`{open: H}`, `{closed: H}`, `{var: N, equals|in|matches|set: V}`, `{channel: C}` or
    `{switch: S}`."""

    kind: Literal["open", "closed", "var", "channel", "switch"]
    name: str = ""  # hours name, variable name, channel, or switch
    op: Literal["", "equals", "in", "matches", "set"] = ""
    value: str | tuple[str, ...] | bool | re.Pattern[str] | None = None


@dataclass(frozen=True)
class BranchItem:
    condition: Condition | None  # None: the otherwise case
    target: str
    line: int = 0


# What a state does after `set` and `say`, by the key that says it: the loader builds one kind
# per state from these, and the engine, the checks and the graph each decide by kind, once.
Kind = Literal[
    "ask", "record", "dial", "queue", "fetch", "branch", "redirect", "reject", "hangup", "pass"
]
ACTIONS: tuple[Kind, ...] = (
    "record", "dial", "queue", "fetch", "branch", "redirect", "reject", "hangup"
)  # fmt: skip


def waits(body: Mapping[str, object]) -> bool:
    """Whether a state's YAML waits for an answer: a menu, or a `save` that isn't a recording's."""
    return bool(body.get("choices")) or ("save" in body and not body.get("record"))


def kind_of(body: Mapping[str, object]) -> Kind:
    """The kind of a state's YAML (the checks refuse a state with two, so the first wins)."""
    if waits(body):
        return "ask"
    for key in ACTIONS:
        if body.get(key) not in (None, False):
            return key
    return "pass"


@dataclass(frozen=True, kw_only=True, slots=True)
class BaseState:
    """What every state can have: its variables, its prompts and where it goes when done."""

    name: str
    line: int = 0
    set: tuple[tuple[str, str], ...] = ()
    switch: tuple[tuple[str, bool], ...] = ()  # switches turned on entering, in order
    say: tuple[Prompt, ...] = ()
    text: TextMessage | None = None
    notify: Notify | None = None  # instead of the flow's, for the messages this state keeps
    next: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PassState(BaseState):
    """Says its prompts and goes on to `next` (or ends the conversation)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AskState(BaseState):
    """A menu (`choices`) or a question (`save` alone): waits for an answer."""

    choices: tuple[Choice, ...] = ()
    gather: Gather = Gather()
    save: str | None = None
    valid: re.Pattern[str] | None = None
    no_input: tuple[Text, ...] = ()
    no_match: tuple[Text, ...] = ()
    attempts: int = 3
    fail: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordState(BaseState):
    record: Record = Record()
    save: str | None = None  # the variable that gets the recording's URL


@dataclass(frozen=True, kw_only=True, slots=True)
class DialState(BaseState):
    dial: Dial
    if_no_answer: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueState(BaseState):
    """Holds the caller in a named queue until staff take the call (`next`) or `max_wait`
    passes (`if_no_answer`)."""

    queue: Queue
    if_no_answer: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchState(BaseState):
    """Asks another system over HTTP, then goes on to `next`, or `if_failed` when it failed."""

    fetch: Fetch
    if_failed: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BranchState(BaseState):
    branch: tuple[BranchItem, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class RedirectState(BaseState):
    redirect: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RejectState(BaseState):
    reject: Literal["busy", "rejected"] = "rejected"


@dataclass(frozen=True, kw_only=True, slots=True)
class HangupState(BaseState):
    """Ends the call after its prompts (`hangup: true`)."""


State = (
    PassState
    | AskState
    | RecordState
    | DialState
    | QueueState
    | FetchState
    | BranchState
    | RedirectState
    | RejectState
    | HangupState
)


@dataclass(frozen=True)
class Hours:
    """Named opening hours: per weekday (0 = Monday) a list of (start, end) times."""

    name: str
    timezone: str
    weekly: Mapping[int, tuple[tuple[dt.time, dt.time], ...]]
    closed_on: frozenset[dt.date] = frozenset()


@dataclass(frozen=True)
class Flow:
    name: str
    states: Mapping[str, State]
    start: str
    version: str = ""  # a hash of the file's text: a call stays on the version it started on
    source: str = ""  # the file's text, kept so a restarted server can finish old calls
    path: str = ""
    description: str = ""
    voice: str | None = None
    language: str | None = None
    vars: Mapping[str, str] = field(default_factory=dict)
    hours: Mapping[str, Hours] = field(default_factory=dict)
    shortcuts: tuple[Choice, ...] = ()
    help: Text | None = None
    sms_session_timeout: float = 4 * 3600.0  # seconds
    # Languages: each of the flow's languages (its first one too) with its voice.
    voices: Mapping[str, str | None] = field(default_factory=dict)
    remember_language: bool = False
    no_input: tuple[Text, ...] = ()  # the flow's own defaults for every state
    no_match: tuple[Text, ...] = ()
    notify: Notify | None = None  # who hears of every message a `record` keeps
    # The switches its conditions read: a webhook looks them up only for a flow that has some.
    switches: frozenset[str] = frozenset()

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the flow speaks, its first one first."""
        return tuple(self.voices)
