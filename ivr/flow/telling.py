"""Building the parts of a state that tell people and turn switches: `text`, `notify`, `switch`.

The checks have already refused what doesn't fit; here the YAML becomes the model's records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ivr.flow.model import BranchState, Notify, State, Text, TextMessage

# How a switch's value may be written: `on` and `off` are words in a flow, so both are taken.
SWITCH_VALUES = {"on": True, "off": False, True: True, False: False}


def _listed(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return tuple(str(item).strip() for item in items)


def notify(raw: Any) -> Notify:
    return Notify(sms=_listed(raw.get("sms")), email=_listed(raw.get("email")))


def text(raw: Any, as_text: Callable[[object], Text]) -> TextMessage:
    """A `text`: a text (or language: text), or `{body, to, from}` to send it elsewhere."""
    if not (isinstance(raw, dict) and "body" in raw):
        return TextMessage(as_text(raw))
    to, sender = raw.get("to"), raw.get("from")
    return TextMessage(
        as_text(raw["body"]), str(to) if to else None, str(sender) if sender else None
    )


def state_parts(body: dict[str, Any], as_text: Callable[[object], Text]) -> dict[str, Any]:
    """The common fields of a state for `text`, `notify` and `switch`, those it has.

    `as_text` reads a text as the flow's languages make it."""
    parts: dict[str, Any] = {}
    if "text" in body:
        parts["text"] = text(body["text"], as_text)
    if "notify" in body:
        parts["notify"] = notify(body["notify"])
    if "switch" in body:
        parts["switch"] = tuple((str(k), SWITCH_VALUES[v]) for k, v in body["switch"].items())
    return parts


def switches_read(states: Iterable[State]) -> frozenset[str]:
    """The switches the flow's conditions read."""
    return frozenset(
        item.condition.name
        for state in states
        if isinstance(state, BranchState)
        for item in state.branch
        if item.condition is not None and item.condition.kind == "switch"
    )
