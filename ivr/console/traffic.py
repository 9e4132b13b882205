"""How conversations went: each one's ending in plain words, and the traffic through a flow.

An ending is read from the path alone. The engine ends a conversation in the same step as the
state it finished in, so its last two steps share a time; a hang-up arrives later, in its own
status callback, so a gap before the end step means the caller left before the flow was done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ivr.engine.session import Session

ENDINGS = ("finished", "hung up", "failed", "transferred", "rejected", "opted out", "live")
FAILED = {"failed", "busy", "no-answer", "canceled", "error"}
TRANSFERRED = {"completed", "answered"}


def ending(session: Session) -> str:
    """One of ENDINGS for a conversation."""
    if not session.ended:
        return "live"
    if any(s.event == "dial" and s.answer in TRANSFERRED for s in session.path):
        return "transferred"
    outcome = session.outcome
    if outcome in FAILED:
        return "failed"
    if outcome == "rejected":
        return "rejected"
    if outcome == "stop":
        return "opted out"
    if outcome in ("hangup", "timeout"):
        return "hung up"
    path = session.path
    if len(path) >= 2 and path[-1].event == "end" and path[-1].at != path[-2].at:
        return "hung up"
    return "finished"


def last_state(session: Session) -> str:
    return session.path[-1].state if session.path else session.state


@dataclass
class StateTraffic:
    entered: int = 0  # conversations that entered the state at least once
    ended: Counter[str] = field(default_factory=Counter)  # ending -> conversations


@dataclass
class Traffic:
    conversations: int = 0
    endings: Counter[str] = field(default_factory=Counter)
    states: dict[str, StateTraffic] = field(default_factory=dict)

    def state(self, name: str) -> StateTraffic:
        return self.states.setdefault(name, StateTraffic())


def traffic(sessions: Iterable[Session]) -> Traffic:
    """How many conversations entered each state, and in which state each one ended how."""
    total = Traffic()
    for session in sessions:
        total.conversations += 1
        how = ending(session)
        total.endings[how] += 1
        for name in {s.state for s in session.path if s.event == "enter"}:
            total.state(name).entered += 1
        if session.path:
            total.state(last_state(session)).ended[how] += 1
    return total
