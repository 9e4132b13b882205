"""What the console asks a store: conversations found by filters, handled messages, opt-outs.

Each store answers these in a mixin of its own (`MemoryQueries`, `SQLiteQueries`,
`RedisQueries`) next to the store, so the queries stay apart from the webhooks' hot path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ivr.engine.session import Session, lookups_of


@dataclass(frozen=True)
class Filters:
    """Which conversations to list; an empty field lets every conversation through."""

    flow: str = ""
    number: str = ""  # the caller's or the called number
    channel: str = ""  # voice | sms
    since: float = 0.0  # started at or after (a UNIX time)
    until: float = 0.0  # started before
    lookup: str = ""  # one call's, or one pair of numbers' text conversations (`lookups_of`)

    def admits(self, s: Session) -> bool:
        return (
            (not self.flow or s.flow == self.flow)
            and (not self.number or self.number in (s.caller, s.called))
            and (not self.channel or s.channel == self.channel)
            and (not self.since or s.started >= self.since)
            and (not self.until or s.started < self.until)
            and (not self.lookup or self.lookup in lookups_of(s.key))
        )


@dataclass(frozen=True)
class Handled:
    """A message someone in the office has dealt with: who, and when."""

    by: str
    at: float


@dataclass(frozen=True)
class OptOut:
    """A number that texted STOP to one of ours (`ours`), and when it last changed."""

    number: str
    ours: str
    at: float


def newest(sessions: Iterable[Session], filters: Filters, last: int) -> list[Session]:
    found = [s for s in sessions if filters.admits(s)]
    return sorted(found, key=lambda s: s.started, reverse=True)[:last]
