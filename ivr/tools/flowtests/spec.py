"""Reading conversation test files: strict YAML into `Case`s, every mistake a `Problem`.

A test file names its flow and lists tests; each test is a list of steps, one key each: the
caller's moves (`press`, `say`, `silence`, `record`, `dial`, `hangup`, or `text` on SMS) and
checks (`hear`, `hear_exact`, `not_hear`, `hear_nothing`, `state`, `var`, `language`, `ended`,
`outcome`, and `texted` and `notified`: what the flow would send, which a test never sends). A
test can set `switches` before it starts. Every step keeps its line, so a failure points at it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ivr.flow import yamlload
from ivr.flow.model import FetchState, Flow
from ivr.flow.names import RESERVED
from ivr.flow.problems import Problem, suggest
from ivr.flow.telling import SWITCH_VALUES
from ivr.flow.yamlload import Document
from ivr.tools.flowtests.replies import Canned, read_canned
from ivr.tools.simulate import local_time
from ivr.tools.wire import DEFAULT_CALLED, DEFAULT_CALLER

Channel = Literal["voice", "sms"]
Path = tuple[str | int, ...]  # where a value is in the file: keys and list indexes
VOICE_MOVES = ("press", "say", "silence", "record", "dial", "hangup")
_HEARD = ("hear", "hear_exact", "not_hear", "hear_nothing")
CHECKS = (*_HEARD, "state", "var", "language", "ended", "outcome", "texted", "notified")
STEPS = (*VOICE_MOVES, "text", *CHECKS)
FILE_KEYS = ("flow", "channel", "from", "to", "at", "vars", "replies", "switches", "tests")
TEST_KEYS = ("name", "channel", "from", "to", "at", "vars", "replies", "switches", "steps")
DIAL = ("answered", "busy", "no-answer", "failed", "canceled")
_NUMBERS = {"from": DEFAULT_CALLER, "to": DEFAULT_CALLED}
_KEYS = re.compile(r"[0-9*#]+")


@dataclass(frozen=True)
class Step:
    kind: str
    line: int
    text: str = ""  # keys, words, a state, an outcome, a dial result, a transcript
    texts: tuple[str, ...] = ()  # what `hear`, `hear_exact` and `not_hear` look for
    seconds: int = 0  # for `record`
    flag: bool = True  # for `ended`
    values: tuple[tuple[str, str | None], ...] = ()  # for `var`: None means not set


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    line: int
    flow: str
    channel: Channel
    caller: str
    called: str
    at: dt.datetime | None
    steps: tuple[Step, ...]
    variables: tuple[tuple[str, str], ...] = ()  # set before the call, as `ivr call --var`
    replies: tuple[tuple[str, Canned], ...] = ()  # what each `fetch` state's request gets
    switches: tuple[tuple[str, bool], ...] = ()  # turned before the conversation starts


class _Reader:
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

    def settings(self, path: Path, data: Mapping[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        """`channel`, `from`, `to`, `at` and `vars` of a test, over those of the file."""
        found = dict(base)
        for key in ("channel", "from", "to"):
            if key in data:
                found[key] = self.scalar((*path, key), data[key])
                if not found[key]:
                    self.error((*path, key), f"`{key}` needs a value")
        if "channel" in data and found["channel"] not in ("voice", "sms"):
            self.error((*path, "channel"), "`channel` is `voice` or `sms`")
            found["channel"] = base["channel"]
        if "at" in data:
            found["at"] = self.moment((*path, "at"), data["at"])
        if "replies" in data:  # a test's replies come over the file's, state by state
            found["replies"] = {**base["replies"], **self.replies((*path, "replies"), data)}
        if "vars" in data:
            found["vars"] = self.variables((*path, "vars"), data["vars"])  # replaces the file's
        if "switches" in data:
            found["switches"] = {**base["switches"], **self.switches(path, data["switches"])}
        if found["vars"] and found["channel"] == "sms":
            where = (*path, "vars") if "vars" in data else ("vars",)
            self.error(
                where,
                "`vars` preset a call the flow places, as `ivr call --var` does; "
                "a test by text can't have them",
            )
            found["vars"] = {}
        return found

    def replies(self, path: Path, data: Mapping[str, Any]) -> dict[str, Canned]:
        raw = data["replies"]
        if not isinstance(raw, dict):
            self.error(
                path, "write the replies as a mapping of states, like `replies: {find: timeout}`"
            )
            return {}
        found = {}
        for state, value in raw.items():
            fetches = self.flow is None or isinstance(self.flow.states.get(state), FetchState)
            if not fetches:
                assert self.flow is not None
                names = [n for n, st in self.flow.states.items() if isinstance(st, FetchState)]
                hint = (
                    suggest(state, names, "the states that fetch are") if names else "it has none"
                )
                message = f"flow `{self.flow.name}` has no state `{state}` that fetches: {hint}"
                self.error((*path, state), message, key=True)
                continue
            canned, why = read_canned(value)
            if canned is None:
                self.error((*path, state), f"the reply for `{state}`: {why}")
            else:
                found[str(state)] = canned
        return found

    def variables(self, path: Path, raw: object) -> dict[str, str]:
        if not isinstance(raw, dict):
            self.error(path, 'write the variables as a mapping, like `vars: {name: "Ana"}`')
            return {}
        for name in RESERVED:
            if name in raw:
                message = f"`{name}` is set for every conversation: use another name"
                self.error((*path, name), message, key=True)
        return {k: self.scalar((*path, k), v) or "" for k, v in raw.items() if k not in RESERVED}

    def switches(self, path: Path, raw: object) -> dict[str, bool]:
        if not isinstance(raw, dict) or not all(_switched(v) for v in raw.values()):
            self.error((*path, "switches"), "write them as in `switches: {closed_today: on}`")
            return {}
        return {str(k): SWITCH_VALUES[v] for k, v in raw.items()}

    def moment(self, path: Path, value: object) -> dt.datetime | None:
        text = self.scalar(path, value) or ""
        at = local_time(text, self.flow)
        if at is None:
            self.error(path, f'`{text}` is not a time like "2026-12-01 10:00"')
        return at

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
        if kind in ("silence", "hangup", "hear_nothing"):
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


def _switched(value: object) -> bool:
    return isinstance(value, str | bool) and value in SWITCH_VALUES


def read_suite(
    text: str, file: str, flows: Mapping[str, Flow], broken: Collection[str]
) -> tuple[str, list[Case], list[Problem]]:
    """The flow a file tests, and its tests or the problems that keep it from running."""
    if not text.strip():
        message = "the file is empty: a test file needs `flow:` and `tests:`"
        return "", [], [Problem(file, 1, 1, "error", message)]
    doc, problems = yamlload.parse(text, file)
    if doc is None or problems:
        return "", [], problems
    data, reader = doc.data, _Reader(doc, file, None)
    reader.unknown_keys((), data, FILE_KEYS)
    name = reader.scalar(("flow",), data.get("flow"))
    if not name:
        reader.error(("flow",), "a test file names the flow it tests: add `flow: NAME`")
    elif name in broken:
        reader.error(("flow",), f"flow `{name}` has errors (above): fix them, then test it")
    elif name not in flows:
        reader.error(("flow",), f"there is no flow `{name}`: {suggest(name, flows, 'use')}")
    reader.flow = flows.get(name or "")
    none: dict[str, Any] = {"at": None, "vars": {}, "replies": {}, "switches": {}}
    base = reader.settings((), data, {"channel": "voice", **_NUMBERS, **none})
    tests = data.get("tests")
    if not isinstance(tests, list) or not tests:
        reader.error(("tests",), "`tests` is a list of tests, each with `name` and `steps`")
        tests = []
    cases = []
    for i, raw in enumerate(tests):
        path: Path = ("tests", i)
        if not isinstance(raw, dict):
            reader.error(path, "a test is a mapping with `name` and `steps`")
            continue
        reader.unknown_keys(path, raw, TEST_KEYS)
        own = reader.settings(path, raw, base)
        steps = reader.steps((*path, "steps"), raw.get("steps"), own["channel"])
        title = reader.scalar((*path, "name"), raw.get("name")) or f"test {i + 1}"
        where, whom = (file, doc.at(path)[0], name or ""), (own["from"], own["to"])
        presets = (tuple(own[key].items()) for key in ("vars", "replies", "switches"))
        cases.append(Case(title, *where, own["channel"], *whom, own["at"], tuple(steps), *presets))
    if reader.problems:
        return name or "", [], reader.problems
    return name or "", cases, []
