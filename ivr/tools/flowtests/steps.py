"""Reading the steps of a conversation test: the caller's moves and the checks, each with its line.

Moves: `press`, `say`, `silence`, `record`, `dial`, `hold` (seconds more on hold), `take` (a
staff member takes the call on hold), `hangup`, or `text` on SMS. Checks: `hear`, `hear_exact`,
`not_hear`, `hear_nothing`, `state`, `var`, `language`, `ended`, `outcome`, and `texted` and
`notified`: what the flow would send, which a test never sends.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.model import Flow
from ivr.flow.problems import Problem, suggest
from ivr.flow.yamlload import Document

Path = tuple[str | int, ...]  # where a value is in the file: keys and list indexes
VOICE_MOVES = ("press", "say", "silence", "record", "dial", "hold", "take", "hangup")
_HEARD = ("hear", "hear_exact", "not_hear", "hear_nothing")
CHECKS = (*_HEARD, "state", "var", "language", "ended", "outcome", "texted", "notified")
STEPS = (*VOICE_MOVES, "text", *CHECKS)
DIAL = ("answered", "busy", "no-answer", "failed", "canceled")
_KEYS = re.compile(r"[0-9*#]+")


@dataclass(frozen=True)
class Step:
    kind: str
    line: int
    text: str = ""  # keys, words, a state, an outcome, a dial result, a transcript
    texts: tuple[str, ...] = ()  # what `hear`, `hear_exact` and `not_hear` look for
    seconds: int = 0  # for `record` and `hold`
    flag: bool = True  # for `ended`
    values: tuple[tuple[str, str | None], ...] = ()  # for `var`: None means not set


class StepReader:
    """Reads steps from one document, collecting `problems`."""

    def __init__(self, doc: Document, file: str, flow: Flow | None) -> None:
        self.doc, self.file, self.flow = doc, file, flow
        self.problems: list[Problem] = []

    def error(self, path: Path, message: str, key: bool = False) -> None:
        line, column = self.doc.key_at(path) if key else self.doc.at(path)
        self.problems.append(Problem(self.file, line, column, "error", message))

    def unknown_keys(self, path: Path, data: Mapping[str, Any], known: Collection[str]) -> None:
        for key in data:
            if key not in known:
                self.error(
                    (*path, key), f"unknown key `{key}`: {suggest(key, known, 'use')}", key=True
                )

    def scalar(self, path: Path, value: object) -> str | None:
        if isinstance(value, dict | list) or value is None:
            return None
        return self.doc.text(path, value)

    def steps(self, path: Path, raw: object, channel: str) -> list[Step]:
        if not isinstance(raw, list) or not raw:
            self.error(path, '`steps` is a list of steps, like `- press: "1"`', key=True)
            return []
        found = []
        for i, item in enumerate(raw):
            step = self.step((*path, i), item, channel)
            if step is not None:
                found.append(step)
        return found

    def step(self, path: Path, item: object, channel: str) -> Step | None:
        if not isinstance(item, dict) or len(item) != 1:
            self.error(path, 'a step is one key and its value, like `press: "1"` or `hear: ...`')
            return None
        kind, value = next(iter(item.items()))
        where = (*path, kind)
        line = self.doc.key_at(where)[0]
        if kind not in STEPS:
            self.error(where, f"unknown step `{kind}`: {suggest(kind, STEPS, 'use')}", key=True)
            return None
        if channel == "sms" and kind in VOICE_MOVES:
            self.error(
                where, f"`{kind}` is a move on a call, and this test texts: use `text`", key=True
            )
            return None
        if channel == "voice" and kind == "text":
            self.error(where, "`text` is for SMS: give the test `channel: sms`", key=True)
            return None
        return self.step_value(where, kind, value, line)

    def step_value(self, where: Path, kind: str, value: object, line: int) -> Step | None:
        text = self.scalar(where, value)
        if kind == "hold":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                return self.bad(where, "write the seconds to wait on hold, like `hold: 60`")
            return Step(kind, line, seconds=value)
        if kind in ("silence", "take", "hangup", "hear_nothing"):
            if value is not True:
                return self.bad(where, f"write `{kind}: true`")
            return Step(kind, line)
        if kind == "ended":
            if not isinstance(value, bool):
                return self.bad(where, "write `ended: true` or `ended: false`")
            return Step(kind, line, flag=value)
        if kind == "record":
            return self.record(where, value, line)
        if kind == "var":
            if not isinstance(value, dict) or not value:
                return self.bad(where, 'write the variables to check, like `var: {zip: "12345"}`')
            pairs = tuple((k, self.scalar((*where, k), v)) for k, v in value.items())
            return Step(kind, line, values=pairs)
        if kind in ("hear", "hear_exact", "not_hear", "texted", "notified"):
            items = value if isinstance(value, list) else [value]
            texts = [self.scalar((*where, i), v) for i, v in enumerate(items)]
            if not items or any(not t for t in texts):
                return self.bad(where, f"write what should be heard, like `{kind}: Goodbye`")
            return Step(kind, line, texts=tuple(t for t in texts if t))
        if text is None or (kind != "text" and not text):
            return self.bad(where, f"`{kind}` needs a value")
        if kind == "press" and not _KEYS.fullmatch(text):
            return self.bad(where, f'`{text}` is not keys: press 0-9, * and # (quote "#" and "*")')
        if kind == "dial" and text not in DIAL:
            return self.bad(where, f"a dial ends {', '.join(DIAL)}; not `{text}`")
        if kind == "state" and self.flow and text not in self.flow.states:
            hint = suggest(text, self.flow.states, "use")
            return self.bad(where, f"flow `{self.flow.name}` has no state `{text}`: {hint}")
        if kind == "language" and self.flow and text not in self.flow.languages:
            hint = suggest(text, self.flow.languages, "its languages are")
            return self.bad(where, f"flow `{self.flow.name}` doesn't speak `{text}`: {hint}")
        return Step(kind, line, text=text)

    def record(self, where: Path, value: object, line: int) -> Step | None:
        if value is True:
            return Step("record", line, seconds=5)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return Step("record", line, seconds=value)
        if isinstance(value, dict) and set(value) <= {"seconds", "transcript"}:
            seconds = value.get("seconds", 5)
            if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0:
                words = self.scalar((*where, "transcript"), value.get("transcript", "")) or ""
                return Step("record", line, text=words, seconds=seconds)
        return self.bad(where, "write `record: SECONDS` or `record: {seconds: 5, transcript: ...}`")

    def bad(self, where: Path, message: str) -> Step | None:
        """Report a step's wrong value; None, the step that isn't."""
        self.error(where, f"`{where[-1]}`: {message}")
        return None
