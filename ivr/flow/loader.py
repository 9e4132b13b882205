"""Loading flow files: strict YAML, the schema, the checks, then the immutable `Flow` model.

A flow loads only when nothing is wrong with it; warnings are reported but don't stop it.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from ivr.flow import checks, placement, schema, yamlload, yamlscan
from ivr.flow.hours import parse_hours
from ivr.flow.model import BranchItem, Choice, Condition, Dial, Flow, Gather, Prompt, Record, State
from ivr.flow.problems import Problem, has_errors, sort_problems
from ivr.flow.yamlload import Document

FLOW_NAME = re.compile(r"[a-z0-9_-]+")
_KEYS = re.compile(r"[0-9*#]+")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
TOO_BIG = "the file is over 1 MB: split it into several flows"


def _items(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else () if value is None else (value,)


def _prompt(item: object) -> Prompt:
    if isinstance(item, str):
        return Prompt("say", item)
    assert isinstance(item, dict)
    loop = int(item.get("loop", 1))
    if "play" in item:
        return Prompt("play", item["play"], loop=loop)
    if "pause" in item:
        return Prompt("pause", seconds=int(item["pause"]))
    return Prompt("say", item.get("say", ""), item.get("voice"), item.get("language"), loop)


def _gather(body: dict[str, Any], choices: tuple[Choice, ...]) -> Gather:
    raw = body.get("gather") or {}
    everything = [answer for choice in choices for answer in choice.answers]
    keys = [answer for answer in everything if _KEYS.fullmatch(answer)]
    lengths = {len(answer) for answer in keys}
    digits = raw.get("digits", lengths.pop() if len(lengths) == 1 else None)
    # `#` ends an answer by default; a menu that offers `#` as an answer needs it as a key.
    finish = raw.get("finish_on_key", "" if "#" in keys else "#")
    listen = raw.get("listen", "keys")
    hints = raw.get("hints")
    if hints is None and listen != "keys":
        words = [a for c in choices for a in c.answers if not _KEYS.fullmatch(a)]
        hints = ", ".join(dict.fromkeys(words)) or None
    return Gather(digits, int(raw.get("timeout", 5)), finish, listen, hints)


def _condition(doc: Document, path: tuple[str | int, ...], test: dict[str, Any]) -> Condition:
    if "open" in test:
        return Condition("open", test["open"])
    if "closed" in test:
        return Condition("closed", test["closed"])
    if "channel" in test:
        return Condition("channel", test["channel"])
    name = test["var"]
    if "equals" in test:
        return Condition("var", name, "equals", doc.text((*path, "equals"), test["equals"]))
    if "in" in test:
        values = tuple(doc.text((*path, "in", i), v) for i, v in enumerate(test["in"]))
        return Condition("var", name, "in", values)
    if "matches" in test:
        return Condition("var", name, "matches", re.compile(test["matches"]))
    return Condition("var", name, "set", bool(test["set"]))


def _choices(raw: object, lines: dict[str | int, int]) -> tuple[Choice, ...]:
    items = raw.items() if isinstance(raw, dict) else ()
    return tuple(Choice(tuple(checks.answers(k)), v, lines.get(k, 0)) for k, v in items)


def _dial(raw: Any) -> Dial:
    if not isinstance(raw, dict):
        return Dial(_items(raw))
    number, timeout = _items(raw["number"]), int(raw.get("timeout", 30))
    return Dial(number, timeout, raw.get("caller_id"), bool(raw.get("record", False)))


def _record(raw: Any) -> Record | None:
    return Record(**raw) if isinstance(raw, dict) else Record() if raw else None


def _reject(raw: Any) -> str | None:
    return "rejected" if raw is True else raw or None


class _Lines(NamedTuple):
    """Where the states, their choices and their branch items are written."""

    states: dict[str | int, int]
    choices: dict[str, dict[str | int, int]]
    branches: dict[str, dict[str | int, int]]


# How each plain key of a state becomes its field of `State`; the others need more context.
_FIELDS: dict[str, Callable[[Any], Any]] = {
    "say": lambda raw: tuple(_prompt(item) for item in _items(raw)),
    "save": str,
    "valid": re.compile,
    "no_input": _items,
    "no_match": _items,
    "attempts": int,
    "fail": str,
    "record": _record,
    "dial": _dial,
    "if_no_answer": str,
    "redirect": str,
    "reject": _reject,
    "hangup": bool,
    "next": str,
}


def _state(doc: Document, name: str, body: dict[str, Any], lines: _Lines) -> State:
    base = ("states", name)
    fields = {key: _FIELDS[key](raw) for key, raw in body.items() if key in _FIELDS}
    choices = (
        _choices(body.get("choices"), lines.choices.get(name, {})) if "choices" in body else ()
    )
    if checks.waits(body):
        fields["gather"] = _gather(body, choices)
    if "set" in body:
        path = (*base, "set")
        fields["set"] = tuple((k, doc.text((*path, k), v)) for k, v in body["set"].items())
    if "branch" in body:
        path, items = (*base, "branch"), lines.branches.get(name, {})
        fields["branch"] = tuple(
            BranchItem(
                _condition(doc, (*path, i, "if"), item["if"]) if "if" in item else None,
                item["next"],
                items.get(i, 0),
            )
            for i, item in enumerate(body["branch"])
        )
    return State(name=name, line=lines.states.get(name, 0), choices=choices, **fields)


def _seconds(raw: object) -> float:
    if isinstance(raw, str):
        amount = raw.strip()
        return float(int(amount[:-1]) * _SECONDS[amount[-1]])
    return float(raw) if isinstance(raw, int) else 4 * 3600.0


def build(doc: Document, *, name: str, text: str, path: str) -> Flow:
    """The `Flow` of a document that passed the schema and the checks."""
    data = doc.data
    shortcuts = _choices(data.get("shortcuts"), doc.lines(("shortcuts",)))
    lines = _Lines(
        doc.lines(("states",)),
        doc.lines_in_each(("states",), "choices"),
        doc.lines_in_each(("states",), "branch"),
    )
    states = {state: _state(doc, state, body, lines) for state, body in data["states"].items()}
    hours = {key: parse_hours(key, raw)[0] for key, raw in (data.get("hours") or {}).items()}
    return Flow(
        name=name,
        states=states,
        start=data.get("start") or next(iter(states)),
        version=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        source=text,
        path=path,
        description=data.get("description") or "",
        voice=data.get("voice"),
        language=data.get("language"),
        vars={
            key: doc.text(("vars", key), value) for key, value in (data.get("vars") or {}).items()
        },
        hours={key: value for key, value in hours.items() if value is not None},
        shortcuts=shortcuts,
        help=data.get("help"),
        sms_session_timeout=_seconds((data.get("sms") or {}).get("session_timeout")),
    )


def _name_problem(name: str, file: str) -> list[Problem]:
    if FLOW_NAME.fullmatch(name):
        return []
    message = (
        f"`{name}` can't be a flow's name: name the file with lower-case letters, digits, - and _,"
        " like front_desk.yaml"
    )
    return [Problem(file, 1, 1, "error", message)]


@contextmanager
def _quiet_gc() -> Iterator[None]:
    # Building a big tree of fresh objects sets off the cyclic collector over and over, which
    # can cost more than the parse itself; nothing built while loading needs it.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(text: str, name: str, file: str, path: str) -> tuple[Flow | None, list[Problem]]:
    doc, problems = yamlload.parse(text, file)
    problems = _name_problem(name, file) + problems
    if doc is None:
        return None, problems
    problems += (
        schema.validate(doc, file) + checks.check(doc, file) + yamlscan.scan(doc, text, file)
    )
    problems = sort_problems(placement.dedented(doc, file, schema.schema(), problems))
    if has_errors(problems):
        return None, problems
    return build(doc, name=name, text=text, path=path), problems


def load_flow_text(text: str, *, name: str, path: str = "") -> tuple[Flow | None, list[Problem]]:
    """Load a flow from its text: the flow (None if anything is an error) and every problem."""
    # The YAML nodes and the document are freed as `_load` returns, before the cyclic collector
    # is back on: it then has only the flow to look over, not everything built on the way.
    with _quiet_gc():
        return _load(text, name, path or f"{name}.yaml", path)


def _decode(raw: bytes, file: str) -> tuple[str | None, list[Problem]]:
    """The text of a flow file's bytes: at most 1 MB of UTF-8."""
    if len(raw) > yamlload.MAX_BYTES:
        return None, [Problem(file, 1, 1, "error", TOO_BIG)]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        message = "the file is not UTF-8 text: save it as UTF-8 in your editor"
        return None, [Problem(file, line, column, "error", message)]


def load_flow(path: str | Path) -> tuple[Flow | None, list[Problem]]:
    """Load one flow file, named by its stem (`flows/support.yaml` is the flow `support`)."""
    file = Path(path)
    try:
        if file.stat().st_size > yamlload.MAX_BYTES:
            return None, [Problem(str(path), 1, 1, "error", TOO_BIG)]
        raw = file.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return None, [Problem(str(path), 1, 1, "error", f"can't read the file: {reason}")]
    text, problems = _decode(raw, str(path))
    if text is None:
        return None, _name_problem(file.stem, str(path)) + problems
    return load_flow_text(text, name=file.stem, path=str(path))


def load_flows(paths: Iterable[str | Path]) -> tuple[dict[str, Flow], list[Problem]]:
    """Load flow files and folders (a folder's `*.yaml` and `*.yml`, not its subfolders)."""
    flows: dict[str, Flow] = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    for given in paths:
        place = Path(given)
        try:
            if not place.exists():
                raise FileNotFoundError(0, "no such file or folder")
            found = place.iterdir() if place.is_dir() else [place]
            files = sorted(f for f in found if f == place or f.suffix in (".yaml", ".yml"))
        except OSError as error:
            reason = error.strerror or str(error)
            problems.append(Problem(str(given), 1, 1, "error", reason))
            continue
        for file in files:
            if file.stem in where:
                message = f"a flow named `{file.stem}` is already in {where[file.stem]}: rename one"
                problems.append(Problem(str(file), 1, 1, "error", message))
                continue
            where[file.stem] = str(file)
            flow, trouble = load_flow(file)
            problems += trouble
            if flow is not None:
                flows[flow.name] = flow
    return flows, sort_problems(problems)
