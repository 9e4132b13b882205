"""Reading conversation test files: strict YAML into `Case`s, every mistake a `Problem`.

A test file names its flow and lists tests; each test is a list of steps, one key each: the
caller's moves and checks (see `ivr.tools.flowtests.steps`). A test can set `switches` before it
starts, and `answered_by` makes its call one placed with machine detection, picked up as
Twilio's AnsweredBy says (`human`, `machine_end_beep`, ...). Every step keeps its line, so a
failure points at it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ivr.flow import yamlload
from ivr.flow.model import FetchState, Flow
from ivr.flow.names import RESERVED
from ivr.flow.problems import Problem, suggest
from ivr.flow.telling import SWITCH_VALUES
from ivr.tools.flowtests.replies import Canned, read_canned
from ivr.tools.flowtests.steps import Path, Step, StepReader
from ivr.tools.simulate import local_time
from ivr.tools.wire import DEFAULT_CALLED, DEFAULT_CALLER

Channel = Literal["voice", "sms"]
__all__ = ["Case", "Step", "read_suite"]

_COMMON = ("channel", "from", "to", "at", "vars", "answered_by", "replies", "switches")
FILE_KEYS = ("flow", *_COMMON, "tests")
TEST_KEYS = ("name", *_COMMON, "steps")
_NUMBERS = {"from": DEFAULT_CALLER, "to": DEFAULT_CALLED}
ANSWERED_BY = (
    "human", "machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other",
    "fax", "unknown",
)  # fmt: skip


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
    answered_by: str = ""  # Twilio's AnsweredBy, for a call placed with machine detection


class _Reader(StepReader):
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
        if "answered_by" in data:
            found["answered_by"] = self.scalar((*path, "answered_by"), data["answered_by"]) or ""
            if found["answered_by"] not in ANSWERED_BY:
                words = ", ".join(ANSWERED_BY)
                self.error((*path, "answered_by"), f"`answered_by` is one of {words}")
            if found["channel"] == "sms":
                self.error((*path, "answered_by"), "`answered_by` is for calls, not texts")
        if found["channel"] == "sms":  # a file's `answered_by` is for its calls only
            found["answered_by"] = ""
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
    none["answered_by"] = ""
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
        variables, replies, switches = (
            tuple(own[k].items()) for k in ("vars", "replies", "switches")
        )
        steps_of = tuple(steps)
        case = Case(title, *where, own["channel"], *whom, own["at"], steps_of, variables, replies)
        cases.append(replace(case, switches=switches, answered_by=own["answered_by"]))
    if reader.problems:
        return name or "", [], reader.problems
    return name or "", cases, []
