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

Listen = Literal["keys", "speech", "both"]


@dataclass(frozen=True)
class Prompt:
    """One item of a `say`: spoken text, an audio file, or a pause."""

    kind: Literal["say", "play", "pause"]
    text: str = ""  # the template for `say`, the URL for `play`
    voice: str | None = None
    language: str | None = None
    loop: int = 1
    seconds: int = 1  # for `pause`


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


@dataclass(frozen=True)
class Condition:
    """`{open: H}`, `{closed: H}`, `{var: N, equals|in|matches|set: V}` or `{channel: C}`."""

    kind: Literal["open", "closed", "var", "channel"]
    name: str = ""  # hours name, variable name, or channel
    op: Literal["", "equals", "in", "matches", "set"] = ""
    value: str | tuple[str, ...] | bool | re.Pattern[str] | None = None


@dataclass(frozen=True)
class BranchItem:
    condition: Condition | None  # None: the otherwise case
    target: str
    line: int = 0


@dataclass(frozen=True)
class State:
    name: str
    line: int = 0
    set: tuple[tuple[str, str], ...] = ()
    say: tuple[Prompt, ...] = ()
    choices: tuple[Choice, ...] = ()
    gather: Gather | None = None
    save: str | None = None
    valid: re.Pattern[str] | None = None
    no_input: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()
    attempts: int = 3
    fail: str | None = None
    record: Record | None = None
    dial: Dial | None = None
    if_no_answer: str | None = None
    branch: tuple[BranchItem, ...] = ()
    redirect: str | None = None
    reject: Literal["busy", "rejected"] | None = None
    hangup: bool = False
    next: str | None = None

    @property
    def waits(self) -> bool:
        """True when the state waits for an answer (a menu or a `save` without `record`)."""
        return bool(self.choices) or (self.save is not None and self.record is None)

    def targets(self) -> list[tuple[str, str]]:
        """Every (kind, state) edge leaving this state, for checks and graphs."""
        edges: list[tuple[str, str]] = [("choice", c.target) for c in self.choices]
        edges += [("branch", b.target) for b in self.branch]
        for kind, target in (
            ("fail", self.fail),
            ("if_no_answer", self.if_no_answer),
            ("next", self.next),
        ):
            if target is not None:
                edges.append((kind, target))
        return edges


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
    help: str | None = None
    sms_session_timeout: float = 4 * 3600.0  # seconds
