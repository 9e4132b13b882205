"""The store interface: where sessions, messages, opt-outs and flow versions live.

A store gives atomic per-conversation updates: `update` reads the live session for a lookup key
(a CallSid, or the pair of numbers of an SMS conversation), lets the caller compute the next one,
and writes it, with no other update of that key in between, across threads, workers and hosts.
A session that has ended or whose time ran out is never live again, but stays in the history
for the store's `Retention`, and so do messages and the outbox's items once sent or given up;
opt-outs, switches, the languages callers chose and flow versions are kept for good. A call's
preset is kept apart, for its own time-out.

The methods the webhooks call have async twins named with an `a` in front: they never block the
event loop (a network store talks to its server asynchronously; a local one answers at once or
waits in a thread). The plain methods serve the command line, the tools, delivery and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from ivr.engine.session import Session
from ivr.settings import DAY
from ivr.store.queries import Filters, Handled, OptOut

T = TypeVar("T")
# Given the live session (or None), return the session to save (or None to save nothing) and
# a result for the caller. It only computes: a store may call it again when another worker
# changed the conversation first, or first call it with a version it remembers (or None, for
# one it never saw) and again with the current one when that turns out to be out of date.
Change = Callable[[Session | None], tuple[Session | None, T]]


class StoreError(Exception):
    """The store could not be reached or refused a command, even after one more try."""


@dataclass(frozen=True)
class Retention:
    """How long the history and the messages are kept, in seconds."""

    history: float = 30 * DAY
    messages: float = 90 * DAY


@dataclass(frozen=True)
class MessageRecord:
    """A recording or a text kept for the office."""

    flow: str
    caller: str
    called: str
    conversation: str
    state: str
    at: float
    url: str = ""
    duration: int = 0
    text: str = ""
    media: tuple[str, ...] = ()
    transcription: str = ""
    id: int = 0


@dataclass(frozen=True)
class Outgoing:
    """A text or an email waiting in the outbox, and what became of it.

    It is written in the same atomic update as the session that decided it, and sent later by
    the delivery task. `due` is when it may next be tried: a worker that takes it moves `due`
    past the time it needs to send it (its lease), so no other worker takes it meanwhile.
    """

    channel: Literal["sms", "email"]
    to: str
    body: str
    kind: Literal["text", "note"] = "text"
    sender: str = ""  # the number it is texted from; for an email, the server's IVR_EMAIL_FROM
    subject: str = ""
    flow: str = ""
    conversation: str = ""
    state: str = ""
    recording: str = ""  # a note's recording, whose transcription it waits for
    transcription: str = ""
    created: float = 0.0
    due: float = 0.0
    attempts: int = 0
    status: Literal["pending", "sent", "failed", "skipped"] = "pending"
    done: float = 0.0  # when it was sent, or given up
    detail: str = ""  # the last error, or why it was skipped; the message SID once sent
    claim: str = ""  # who holds it now (a random token per claim)
    id: int = 0


@dataclass(frozen=True)
class SwitchChange:
    """A switch turned on or off: by whom, when, and until when."""

    name: str
    on: bool
    at: float
    by: str  # "command", "api", or the conversation that flipped it
    until: float | None = None  # then the switch flips back by itself

    def value(self, now: float) -> bool:
        """The switch's value at `now`: after `until` it is the other way round."""
        return self.on if self.until is None or now < self.until else not self.on


@dataclass(frozen=True)
class LanguageChoice:
    """The language a caller chose in a flow, kept for their next call or text to it."""

    flow: str
    number: str
    language: str
    at: float


@dataclass(frozen=True)
class Effects:
    """What an update writes beside the session, in the same atomic step."""

    messages: Sequence[MessageRecord] = ()
    outbox: Sequence[Outgoing] = ()
    switches: Sequence[SwitchChange] = ()
    languages: Sequence[LanguageChoice] = ()

    def __bool__(self) -> bool:
        return bool(self.messages or self.outbox or self.switches or self.languages)


# What an update's result asks to write beside the session.
EffectsOf = Callable[[T], Effects]
NO_EFFECTS = Effects()


class Store(Protocol):
    retention: Retention

    def update(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        """Atomically replace the live session of `lookup`; it stays live `ttl` seconds.

        `effects(result)`, when given, says what to put in the outbox and which switches to
        turn, in the same atomic step as the session.
        """
        ...

    async def aupdate(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T: ...

    def load(self, lookup: str) -> Session | None: ...

    async def aload(self, lookup: str) -> Session | None: ...

    def history(self, flow: str | None = None, last: int = 20) -> list[Session]: ...

    def add_message(self, message: MessageRecord) -> None: ...

    def set_transcription(self, conversation: str, url: str, text: str) -> bool:
        """Fill in a kept recording's text; notes waiting for it become due at once."""
        ...

    async def aset_transcription(self, conversation: str, url: str, text: str) -> bool: ...

    def messages(self, flow: str | None = None, last: int = 20) -> list[MessageRecord]: ...

    def set_opt_out(self, number: str, ours: str, opted_out: bool) -> None: ...

    async def aset_opt_out(self, number: str, ours: str, opted_out: bool) -> None: ...

    def opted_out(self, number: str, ours: str = "") -> bool:
        """True when `number` texted STOP to `ours` (or to any of our numbers, when empty)."""
        ...

    async def aopted_out(self, number: str, ours: str = "") -> bool: ...

    def language_of(self, flow: str, number: str) -> str:
        """The language `number` chose last in `flow` ("" when none): kept for good."""
        ...

    async def alanguage_of(self, flow: str, number: str) -> str: ...

    def keep_flow(self, name: str, version: str, source: str) -> None: ...

    def flow_source(self, version: str) -> tuple[str, str] | None:
        """(name, source) of a flow version this store has seen."""
        ...

    # -- a call's preset: kept before Twilio is asked to ring, found when it is answered -----
    def keep_preset(self, token: str, session: Session, ttl: float) -> None:
        """Keep the session a call we place starts from, under `token`, for `ttl` seconds.

        Not a conversation: no history, console, metric or retention count ever shows it; only
        the webhooks of the call, whose URLs carry `token`, find it (`apreset`)."""
        ...

    def preset(self, token: str) -> Session | None: ...

    async def apreset(self, token: str) -> Session | None: ...

    def drop_preset(self, token: str) -> None:
        """Forget a preset: its call was refused, answered, or ended unanswered."""
        ...

    async def adrop_preset(self, token: str) -> None: ...

    def claim_outgoing(self, now: float, lease: float, limit: int) -> list[Outgoing]:
        """Take up to `limit` due items for `lease` seconds: no other worker gets them."""
        ...

    def finish_outgoing(self, item: Outgoing) -> bool:
        """Write what became of a claimed item (status, attempts, due, done, detail).

        False when the claim was lost (its lease ran out and another worker took it)."""
        ...

    def outgoing(self, flow: str | None = None, last: int = 20) -> list[Outgoing]:
        """The newest items of the outbox, sent or not."""
        ...

    def switches(self) -> dict[str, SwitchChange]:
        """The last change of every switch ever turned."""
        ...

    async def aswitches(self) -> dict[str, SwitchChange]: ...

    def set_switch(self, change: SwitchChange) -> None: ...

    def switch_history(self, name: str | None = None, last: int = 20) -> list[SwitchChange]:
        """The newest changes first."""
        ...

    # -- what the console asks (see queries.py) --------------------------------------------
    def conversations(self, filters: Filters, last: int = 100) -> list[Session]:
        """The newest conversations that pass `filters`, newest first."""
        ...

    def conversation(self, key: str) -> Session | None:
        """One conversation of the history by its key (a CallSid, or a text's key)."""
        ...

    def message(self, message_id: int) -> MessageRecord | None: ...

    def set_handled(self, message_id: int, by: str, at: float) -> None:
        """Mark a message handled by `by` (a person's name) at `at`; an empty `by` unmarks."""
        ...

    def handled(self, message_ids: list[int]) -> dict[int, Handled]: ...

    def opt_outs(self) -> list[OptOut]:
        """The numbers opted out now, the latest first."""
        ...

    async def prune(self) -> int:
        """Forget one bounded batch of what is past its retention; how many items went."""
        ...

    def open(self) -> None:
        """Get ready to serve (SQLite: make the tables; Redis: connect and PING).

        Making a store does no I/O; this does, and says what is wrong (`StoreError`) while
        there is still time to refuse to start. A store used before it was opened opens itself.
        """
        ...

    async def aopen(self) -> None: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...
