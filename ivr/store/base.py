"""The store interface: where sessions, messages, opt-outs and flow versions live.

A store gives atomic per-conversation updates: `update` reads the live session for a lookup key
(a CallSid, or the pair of numbers of an SMS conversation), lets the caller compute the next one,
and writes it, with no other update of that key in between, across threads, workers and hosts.
A session that has ended or whose time ran out is never live again, but stays in the history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ivr.engine.session import Session

T = TypeVar("T")
# Given the live session (or None), return the session to save (or None to save nothing) and
# a result for the caller.
Change = Callable[[Session | None], tuple[Session | None, T]]


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


class Store(Protocol):
    def update(self, lookup: str, change: Change[T], ttl: float) -> T:
        """Atomically replace the live session of `lookup`; it stays live `ttl` seconds."""
        ...

    def load(self, lookup: str) -> Session | None: ...

    def history(self, flow: str | None = None, last: int = 20) -> list[Session]: ...

    def add_message(self, message: MessageRecord) -> None: ...

    def set_transcription(self, conversation: str, url: str, text: str) -> bool: ...

    def messages(self, flow: str | None = None, last: int = 20) -> list[MessageRecord]: ...

    def set_opt_out(self, number: str, ours: str, opted_out: bool) -> None: ...

    def opted_out(self, number: str, ours: str = "") -> bool:
        """True when `number` texted STOP to `ours` (or to any of our numbers, when empty)."""
        ...

    def keep_flow(self, name: str, version: str, source: str) -> None: ...

    def flow_source(self, version: str) -> tuple[str, str] | None:
        """(name, source) of a flow version this store has seen."""
        ...

    def close(self) -> None: ...
