"""The checks of `text`, `notify` and `switch`: numbers, addresses, switch names and values.

They run with the other checks, through the same `Checker`, so their problems come out with the
others, all at once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ivr.flow.names import E164
from ivr.flow.reach import list_of, map_of
from ivr.flow.switching import NAME_RULE, SWITCH_NAME

if TYPE_CHECKING:
    from ivr.flow.checks import Checker
    from ivr.flow.problems import Path

TEXT_LIMIT = 1600
E164_HINT = 'write +, the country code and the number, with no spaces, like "+15555550100"'
# Enough to catch a slip (a missing @, a space, a number in the email list); the mail server
# has the last word on the rest.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_telling(checker: Checker) -> None:
    if "notify" in checker.doc.data:
        check_notify(checker, ("notify",), checker.doc.data["notify"], "the flow's `notify`")
    for name, body in checker.states.items():
        base: Path = ("states", name)
        if "text" in body:
            check_text(checker, (*base, "text"), body["text"], name)
        if "notify" in body:
            check_notify(checker, (*base, "notify"), body["notify"], f"state `{name}`")
            if "record" not in body:
                message = (
                    f"`notify` in state `{name}` does nothing: only a state with `record` keeps "
                    "messages to tell people about"
                )
                checker.report("warning", (*base, "notify"), message, key=True)
        for switch, value in map_of(body.get("switch")).items():
            check_switch_name(checker, (*base, "switch", switch), switch, name, key=True)
            check_switch_value(checker, (*base, "switch", switch), value, switch, name)
        for i, item in enumerate(list_of(body.get("branch"))):
            tested = map_of(map_of(item).get("if")).get("switch")
            if isinstance(tested, str):
                where = (*base, "branch", i, "if", "switch")
                check_switch_name(checker, where, tested, name, key=False)


def check_number(checker: Checker, path: Path, number: object, what: str) -> None:
    """A number to text must be in international form (a template is checked when sent)."""
    if isinstance(number, str) and "{{" not in number and not E164.fullmatch(number.strip()):
        message = f"`{number}` in {what} is not a number in international format: {E164_HINT}"
        checker.report("error", path, message)


def check_text(checker: Checker, path: Path, text: Any, name: str) -> None:
    body = text.get("body") if isinstance(text, dict) else text
    if isinstance(body, str) and len(body) > TEXT_LIMIT:
        message = f"`text` of state `{name}` has {len(body):,} characters: a text message holds"
        checker.report("warning", path, f"{message} at most {TEXT_LIMIT:,}; shorten it")
    if not isinstance(text, dict):
        return
    for key in ("to", "from"):
        if key in text:
            check_number(checker, (*path, key), text[key], f"`text` of state `{name}`")


def check_notify(checker: Checker, path: Path, notify: Any, what: str) -> None:
    notify = map_of(notify)
    for key in ("sms", "email"):
        items = notify.get(key)
        for i, item in enumerate(items) if isinstance(items, list) else [(-1, items)]:
            where = (*path, key, i) if i >= 0 else (*path, key)
            if key == "sms":
                check_number(checker, where, item, f"`notify` of {what}")
            elif isinstance(item, str) and not EMAIL.fullmatch(item.strip()):
                message = (
                    f"`{item}` in `notify` of {what} is not an email address: write it like "
                    "frontdesk@example.com"
                )
                checker.report("error", where, message)


def check_switch_name(checker: Checker, path: Path, switch: str, name: str, *, key: bool) -> None:
    if not SWITCH_NAME.fullmatch(switch):
        message = f"`{switch}` in state `{name}` can't be a switch's name: use {NAME_RULE}"
        checker.report("error", path, message, key=key)


def check_switch_value(checker: Checker, path: Path, value: object, switch: str, name: str) -> None:
    if value not in ("on", "off", True, False):
        shown = value if isinstance(value, str) else type(value).__name__
        message = f"switch `{switch}` in state `{name}` must be turned on or off (not `{shown}`)"
        checker.report("error", path, message)
