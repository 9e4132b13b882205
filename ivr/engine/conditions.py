"""Deciding a `branch`: which condition holds for this conversation, now."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from ivr.flow.hours import is_open
from ivr.flow.model import BranchState, Condition, Flow


def holds(
    condition: Condition,
    flow: Flow,
    variables: Mapping[str, str],
    channel: str,
    now: dt.datetime,
    switches: Mapping[str, bool] = {},
) -> bool:
    """True when `condition` is met; a missing variable is empty, a missing switch off."""
    if condition.kind == "open":
        return is_open(flow.hours[condition.name], now)
    if condition.kind == "closed":
        return not is_open(flow.hours[condition.name], now)
    if condition.kind == "channel":
        return channel == condition.name
    if condition.kind == "switch":
        return switches.get(condition.name, False)
    value = variables.get(condition.name, "")
    if condition.op == "set":
        return bool(value) == bool(condition.value)
    if condition.op == "equals":
        return value.strip().casefold() == str(condition.value).strip().casefold()
    if condition.op == "in":
        options = condition.value if isinstance(condition.value, tuple) else ()
        return value.strip().casefold() in {str(o).strip().casefold() for o in options}
    if condition.op == "matches" and isinstance(condition.value, re.Pattern):
        return condition.value.search(value) is not None
    return False


def pick_branch(
    state: BranchState,
    flow: Flow,
    variables: Mapping[str, str],
    channel: str,
    now: dt.datetime,
    switches: Mapping[str, bool] = {},
) -> str | None:
    """The target of the first `branch` item that holds (an item without `if` always does)."""
    for item in state.branch:
        if item.condition is None or holds(item.condition, flow, variables, channel, now, switches):
            return item.target
    return state.next
