"""The checks the schema can't express: state names, answers, hours, loops, reachability.

They run on the loaded document after the schema, even when it found errors, so that a flow's
problems all come out at once: whatever has the wrong type is skipped (the schema said so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from ivr.flow import fetch, languages, reach, tellchecks, templates
from ivr.flow.hours import parse_hours
from ivr.flow.model import ACTIONS, waits
from ivr.flow.names import BUILT_INS, E164, NUMBERS
from ivr.flow.problems import Level, Path, Problem, name_of, suggest
from ivr.flow.reach import list_of, map_of
from ivr.flow.yamlload import Document

_E164_HINT = 'write +, the country code and the number, with no spaces, like "+15555550100"'
SPOKEN_LIMIT = 4096
TEXT_LIMIT = 1600


def answers(key: str) -> list[str]:
    """The answers a choice key lists: `"1, hours"` is `1` and `hours`."""
    return [part.strip() for part in key.split(",")]


class Checker:
    """Runs every check over one document, collecting `problems`."""

    def __init__(self, doc: Document, file: str) -> None:
        self.doc, self.file = doc, file
        self.problems: list[Problem] = []
        self.states = {name: map_of(body) for name, body in map_of(doc.data.get("states")).items()}
        start = doc.data.get("start")
        self.start = start if isinstance(start, str) else next(iter(self.states), "")
        self.hours = map_of(doc.data.get("hours"))
        self.shortcuts = map_of(doc.data.get("shortcuts"))

    def report(self, level: Level, path: Path, message: str, *, key: bool = False) -> None:
        line, column = self.doc.key_at(path) if key else self.doc.at(path)
        self.problems.append(Problem(self.file, line, column, level, message))

    def run(self) -> list[Problem]:
        if "start" in self.doc.data:
            self.check_target(("start",), self.doc.data["start"])
        for key, target in self.shortcuts.items():
            self.check_target(("shortcuts", key), target)
        self.check_answers(("shortcuts",), "`shortcuts`", self.shortcuts)
        for name, raw in self.hours.items():  # the schema speaks for a missing timezone
            mistakes = parse_hours(name, raw)[1] if "timezone" in map_of(raw) else []
            for where, message in mistakes:
                self.report("error", ("hours", name, *where), f"hours `{name}`: {message}")
        for name, body in self.states.items():
            self.check_state(name, body, ("states", name))
        languages.check_languages(self)
        reach.check_loops(self)
        reach.check_reachable(self)
        tellchecks.check_telling(self)
        self.check_templates()
        return self.problems

    def check_target(self, path: Path, target: object) -> None:
        if isinstance(target, str) and target not in self.states:
            if path[0] != "states":
                what = f"the shortcut `{path[1]}`" if len(path) > 1 else "`start`"
            elif path[-2] == "choices":
                what = f"the choice `{path[-1]}` of state `{path[1]}`"
            else:
                what = name_of(path)
            hint = suggest(target, self.states, "the states are")
            message = f"{what} goes to `{target}`, but no state has that name: {hint}"
            self.report("error", path, message)

    def check_answers(self, path: Path, where: str, keys: Iterable[str]) -> None:
        seen: dict[str, str] = {}
        for key in keys:
            for answer in answers(key):
                if not answer:
                    message = f"`{key}` in {where} has an empty answer: remove the extra comma"
                    self.report("error", (*path, key), message, key=True)
                elif answer.lower() in seen:
                    other = seen[answer.lower()]
                    line = self.doc.key_at((*path, other))[0]
                    message = (
                        f"the answer `{answer}` is in two choices of {where} (also in `{other}` "
                        f"on line {line}): an answer can choose only one state"
                    )
                    self.report("error", (*path, key), message, key=True)
                else:
                    seen[answer.lower()] = key

    def check_state(self, name: str, body: dict[str, Any], base: Path) -> None:
        choices = map_of(body.get("choices"))
        for key, target in choices.items():
            if isinstance(target, str) and target not in self.states:  # the usual case, quickly
                self.check_target((*base, "choices", key), target)
        self.check_answers((*base, "choices"), f"state `{name}`", choices)
        for key in ("next", "fail", "if_no_answer", "if_failed"):
            if key in body:
                self.check_target((*base, key), body[key])
        doing: list[str] = [key for key in ACTIONS if body.get(key) not in (None, False)]
        doing = (["choices" if choices else "save"] if waits(body) else []) + doing
        if len(doing) > 1:
            message = (
                f"state `{name}` has both `{doing[0]}` and `{doing[1]}`: a state does one of "
                "these (wait for an answer, record, dial, queue, fetch, branch, redirect, reject, "
                "hang up); split it in two"
            )
            self.report("error", (*base, doing[1]), message, key=True)
        for key, needs in (
            ("valid", ("save",)),
            ("if_no_answer", ("dial", "queue")),
            ("if_failed", ("fetch",)),
        ):
            if key in body and not any(need in body for need in needs):
                alone = " or ".join(f"`{need}`" for need in needs)
                message = f"`{key}` in state `{name}` does nothing without {alone}"
                self.report("error", (*base, key), message, key=True)
        length = languages.longest(body.get("say"))
        if length > TEXT_LIMIT:
            message = f"state `{name}` says {length:,} characters: a text message holds at most"
            self.report("warning", (*base, "say"), f"{message} {TEXT_LIMIT:,}; split it")
        if "valid" in body:
            self.check_pattern((*base, "valid"), body["valid"], f"`valid` in state `{name}`")
        if "dial" in body:
            self.check_dial((*base, "dial"), body["dial"], name)
        for part, level, words in fetch.findings(name, body.get("fetch")):
            self.report(level, (*base, *part), words)
        if "branch" in body:
            self.check_branch((*base, "branch"), list_of(body["branch"]), name)

    def check_branch(self, path: Path, items: list[Any], name: str) -> None:
        for i, item in enumerate(items):
            where = (*path, i)
            if isinstance(item, dict):
                self.check_target((*where, "next"), item.get("next"))
                self.check_condition((*where, "if"), item.get("if"), name)
                if "if" not in item and i < len(items) - 1:
                    message = f"the otherwise item (no `if`) of `branch` in state `{name}` must"
                    self.report("error", where, f"{message} be last: the items after it never run")

    def check_dial(self, path: Path, dial: object, name: str) -> None:
        if isinstance(dial, dict):  # `{queue: NAME}` has no number; the schema checks the name
            path, dial = (*path, "number"), dial.get("number")
        for i, number in enumerate(dial if isinstance(dial, list) else [dial]):
            if isinstance(number, str) and not E164.fullmatch(number):
                message = f"`{number}` in `dial` of state `{name}` is not a number in international"
                where = (*path, i) if isinstance(dial, list) else path
                self.report("error", where, f"{message} format: {_E164_HINT}")

    def check_pattern(self, path: Path, pattern: object, what: str) -> None:
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as error:
                why = f"{error.msg} (at character {(error.pos or 0) + 1})"
                self.report("error", path, f"{what} is not a regular expression: {why}")

    def check_condition(self, path: Path, test: object, name: str) -> None:
        if not isinstance(test, dict):
            return
        for kind in ("open", "closed"):
            hours = test.get(kind)
            if isinstance(hours, str) and hours not in self.hours:
                hint = suggest(hours, self.hours, "the hours are") if self.hours else "add it"
                message = f"`{kind}: {hours}` in state `{name}` names no entry of `hours`: {hint}"
                self.report("error", (*path, kind), message)
        self.check_pattern((*path, "matches"), test.get("matches"), f"`matches` in state `{name}`")

    def texts(self) -> Iterator[tuple[Path, str]]:
        """Every text a template can be in that has a template or is long, with its path."""
        for name, body in self.states.items():
            for key, value in map_of(body.get("set")).items():
                yield ("states", name, "set", key), value
            for where, text in fetch.texts(body.get("fetch")):
                yield ("states", name, "fetch", *where), text
        for path, text in languages.strings(self.doc.data):
            if path[0] != "help" and ("{{" in text or len(text) > SPOKEN_LIMIT):
                yield path, text

    def check_secrets(self, path: Path, text: object, where: str) -> None:
        for name in templates.secrets(text) if isinstance(text, str) else ():
            message = (
                f"`{{{{ secret.{name} }}}}` in {where}: a secret can only stand in a `fetch`, "
                "where it is sent and never said, texted or kept"
            )
            self.report("error", path, message)

    def check_templates(self) -> None:
        known = {*BUILT_INS, *map_of(self.doc.data.get("vars"))}
        for body in self.states.values():
            known.update(map_of(body.get("set")))
            known.update([body["save"]] if isinstance(body.get("save"), str) else [])
            if isinstance(body.get("fetch"), dict):
                known.update(["fetch_status", *map_of(body["fetch"].get("save"))])
        for path, help_text in languages.strings(self.doc.data):
            if path[0] != "help":
                continue
            # HELP is answered outside any conversation: only the flow's vars and the numbers.
            outside = {*NUMBERS, *map_of(self.doc.data.get("vars")), "language"}
            for message in templates.check(help_text, outside):
                self.report("warning", path, f"{message} (`help`)")
            self.check_secrets(path, help_text, "`help`")
        for path, text in self.texts():
            in_state = path[0] == "states"
            where = f"`{path[2]}` of state `{path[1]}`" if in_state else f"`{path[0]}`"
            if not in_state or path[2] != "fetch":
                self.check_secrets(path, text, where)
            for message in templates.check(text, known) if isinstance(text, str) else ():
                self.report("warning", path, f"{message} ({where})")
            if isinstance(text, str) and len(text) > SPOKEN_LIMIT and path[2:3] != ("set",):
                message = f"a prompt of {len(text):,} characters in {where}: Twilio says at most"
                self.report("warning", path, f"{message} {SPOKEN_LIMIT:,}; split it")
        for name, body in self.states.items():
            for i, item in enumerate(list_of(body.get("branch"))):
                var = map_of(map_of(item).get("if")).get("var")
                if isinstance(var, str) and var not in known:
                    message = f"the condition in state `{name}` tests `{var}`, which nothing sets"
                    self.report("warning", ("states", name, "branch", i, "if", "var"), message)


def check(doc: Document, file: str) -> list[Problem]:
    """Every problem the schema can't see, as `Problem`s (errors and warnings)."""
    return Checker(doc, file).run()
