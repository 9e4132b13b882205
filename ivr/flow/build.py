"""Building the immutable `Flow` from a YAML document that passed the schema and the checks.

Each state becomes one kind (`model.kind_of`): what it does is settled here, once, so that
nothing after the loader looks at which optional keys a state has.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, NamedTuple

from ivr.flow import fetch, telling
from ivr.flow.checks import answers
from ivr.flow.hours import parse_hours
from ivr.flow.model import (
    AskState,
    BranchItem,
    BranchState,
    Choice,
    Condition,
    Dial,
    DialState,
    FetchState,
    Flow,
    Gather,
    HangupState,
    PassState,
    Prompt,
    Queue,
    QueueState,
    Record,
    RecordState,
    RedirectState,
    RejectState,
    State,
    Text,
    kind_of,
)
from ivr.flow.yamlload import Document

_KEYS = re.compile(r"[0-9*#]+")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _items(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else () if value is None else (value,)


def to_text(raw: object, first: str | None) -> Text:
    """A text as written: a string (in the flow's language `first`), or language -> string."""
    if not isinstance(raw, dict):
        return Text("" if raw is None else str(raw))
    strings = {str(key): str(value) for key, value in raw.items()}
    language = first if first in strings else next(iter(strings), None)
    return Text(strings.get(language or "", ""), language, strings)


def _lines(raw: object, first: str | None) -> tuple[Text, ...]:
    return tuple(to_text(item, first) for item in _items(raw))


def _prompt(item: object, first: str | None) -> Prompt:
    if isinstance(item, dict) and "say" not in item and "play" not in item and "pause" not in item:
        item = {"say": item}  # a mapping of languages, said as one item
    if not isinstance(item, dict):
        return _said(to_text(item, first))
    loop = int(item.get("loop", 1))
    if "play" in item:
        return Prompt("play", item["play"], loop=loop)
    if "pause" in item:
        return Prompt("pause", seconds=int(item["pause"]))
    return _said(to_text(item.get("say", ""), first), item.get("voice"), item.get("language"), loop)


def _said(
    words: Text, voice: str | None = None, language: str | None = None, loop: int = 1
) -> Prompt:
    # A plain string is the prompt's `text` alone, as it always was.
    translated = words if words.by_language else None
    return Prompt("say", words.default, voice, language, loop, words=translated)


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
    if "switch" in test:
        return Condition("switch", test["switch"])
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
    return tuple(Choice(tuple(answers(k)), v, lines.get(k, 0)) for k, v in items)


def _dial(raw: Any) -> Dial:
    if not isinstance(raw, dict):
        return Dial(_items(raw))
    if "queue" in raw:
        timeout, record = int(raw.get("timeout", 30)), bool(raw.get("record", False))
        return Dial((), timeout, raw.get("caller_id"), record, queue=str(raw["queue"]))
    number, timeout = _items(raw["number"]), int(raw.get("timeout", 30))
    return Dial(number, timeout, raw.get("caller_id"), bool(raw.get("record", False)))


class _Lines(NamedTuple):
    """Where the states, their choices and their branch items are written."""

    states: dict[str | int, int]
    choices: dict[str, dict[str | int, int]]
    branches: dict[str, dict[str | int, int]]


def _ask(
    body: dict[str, Any], common: dict[str, Any], lines: _Lines, first: str | None
) -> AskState:
    raw = body.get("choices")
    choices = _choices(raw, lines.choices.get(common["name"], {})) if raw is not None else ()
    return AskState(
        **common,
        choices=choices,
        gather=_gather(body, choices),
        save=str(body["save"]) if "save" in body else None,
        valid=re.compile(body["valid"]) if "valid" in body else None,
        no_input=_lines(body.get("no_input"), first),
        no_match=_lines(body.get("no_match"), first),
        attempts=int(body.get("attempts", 3)),
        fail=str(body["fail"]) if "fail" in body else None,
    )


def _branch(doc: Document, body: dict[str, Any], common: dict[str, Any], lines: _Lines) -> State:
    name = common["name"]
    path, items = ("states", name, "branch"), lines.branches.get(name, {})
    return BranchState(
        **common,
        branch=tuple(
            BranchItem(
                _condition(doc, (*path, i, "if"), item["if"]) if "if" in item else None,
                item["next"],
                items.get(i, 0),
            )
            for i, item in enumerate(body["branch"])
        ),
    )


def _state(
    doc: Document, name: str, body: dict[str, Any], lines: _Lines, first: str | None
) -> State:
    common: dict[str, Any] = {"name": name, "line": lines.states.get(name, 0)}
    if "say" in body:
        common["say"] = tuple(_prompt(item, first) for item in _items(body["say"]))
    if "set" in body:
        path = ("states", name, "set")
        common["set"] = tuple((k, doc.text((*path, k), v)) for k, v in body["set"].items())
    if "next" in body:
        common["next"] = str(body["next"])
    common.update(telling.state_parts(body, lambda raw: to_text(raw, first)))
    match kind_of(body):
        case "ask":
            return _ask(body, common, lines, first)
        case "record":
            raw = body["record"]
            record = Record(**raw) if isinstance(raw, dict) else Record()
            save = str(body["save"]) if "save" in body else None
            return RecordState(**common, record=record, save=save)
        case "dial":
            no_answer = str(body["if_no_answer"]) if "if_no_answer" in body else None
            return DialState(**common, dial=_dial(body["dial"]), if_no_answer=no_answer)
        case "queue":
            raw = body["queue"]
            queue = Queue(
                str(raw["name"]),
                raw.get("music"),
                int(raw.get("announce", 60)),
                int(raw.get("max_wait", 300)),
            )
            no_answer = str(body["if_no_answer"]) if "if_no_answer" in body else None
            return QueueState(**common, queue=queue, if_no_answer=no_answer)
        case "fetch":
            if_failed = str(body["if_failed"]) if "if_failed" in body else None
            return FetchState(**common, fetch=fetch.from_yaml(body["fetch"]), if_failed=if_failed)
        case "branch":
            return _branch(doc, body, common, lines)
        case "redirect":
            return RedirectState(**common, redirect=str(body["redirect"]))
        case "reject":
            raw = body["reject"]
            return RejectState(**common, reject="rejected" if raw is True else raw)
        case "hangup":
            return HangupState(**common)
        case "pass":
            return PassState(**common)


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
    first = data.get("language")
    states = {
        state: _state(doc, state, body, lines, first) for state, body in data["states"].items()
    }
    voices: dict[str, str | None] = {first: data.get("voice")} if first else {}
    for language, settings in (data.get("languages") or {}).items():
        voices[str(language)] = (settings or {}).get("voice")
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
        help=to_text(data["help"], first) if data.get("help") is not None else None,
        sms_session_timeout=_seconds((data.get("sms") or {}).get("session_timeout")),
        voices=voices,
        remember_language=bool(data.get("remember_language", False)),
        no_input=_lines(data.get("no_input"), first),
        no_match=_lines(data.get("no_match"), first),
        notify=telling.notify(data["notify"]) if "notify" in data else None,
        switches=telling.switches_read(states.values()),
    )
