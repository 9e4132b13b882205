"""Keys written in the wrong place: where each one goes instead.

"unknown key `timeout`" is true but unhelpful when `timeout` is a fine key one level down (under
`gather`). The places a key may stand are read from the schema, so a key added there is placed
here too. A state's key written two spaces too far left reads as a state of its own (`next:
confirm` becomes a state named `next`); that is said once, as the indentation it is, instead of
the schema's and the reachability check's words about a strange state.
"""

from __future__ import annotations

from typing import Any

from ivr.flow.problems import Path, Problem
from ivr.flow.yamlload import Document

_NEVER_REACHED = "is never reached"


def _places(whole: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each place a key can stand, by name, with the keys it takes."""
    defs = whole["$defs"]
    state = defs["state"]["properties"]
    places = {
        "top": whole["properties"],
        "state": state,
        "gather": state["gather"].get("properties", {}),
        "record": state["record"].get("properties", {}),
        "dial": state["dial"].get("properties", {}),
        "queue": state["queue"].get("properties", {}),
        "prompt": defs["prompt_item"].get("properties", {}),
        "condition": defs["condition"].get("properties", {}),
        "hours": defs["hours"].get("properties", {}),
        "sms": whole["properties"].get("sms", {}).get("properties", {}),
    }
    return {name: keys for name, keys in places.items() if keys}


def _here(path: Path) -> str:
    if not path:
        return "top"
    if path[0] == "states" and len(path) == 2:
        return "state"
    if path[0] == "states" and len(path) == 3 and path[2] in ("gather", "record", "dial", "queue"):
        return str(path[2])
    if path[0] == "hours" and len(path) == 2:
        return "hours"
    return ""


def _order(here: str, body: dict[str, Any]) -> list[str]:
    # A key several places take (`timeout`) goes where this state already has something.
    order = ["gather", "record", "dial", "queue"]
    for owner in ("queue", "dial", "record"):
        if owner in body:
            order.remove(owner)
            order.insert(0, owner)
    rest = ["state", "prompt", "condition", "top", "hours", "sms"]
    return [place for place in order + rest if place != here]


def _example(place: str, key: str, value: str) -> str:
    if place in ("gather", "record", "dial", "queue", "sms"):
        return f": {place}: {{{key}: {value}}}"
    if place == "condition":
        return f": branch: [{{if: {{{key}: {value}}}, next: STATE}}]"
    if place == "prompt":
        return f": say: [{{say: TEXT, {key}: {value}}}]"
    if place == "hours":
        return f": hours: {{office: {{{key}: {value}}}}}"
    return ""


_WHERE = {
    "top": "at the top of the flow (no indentation), not {here}",
    "state": "in a state (under `states:`, indented under the state's name)",
    "gather": "under `gather`, not directly {here}",
    "record": "under `record`, not directly {here}",
    "dial": "under `dial`, not directly {here}",
    "queue": "under `queue`, not directly {here}",
    "prompt": "in a prompt item of `say`",
    "condition": "in the `if` of a `branch` item",
    "hours": "under a named hours in `hours`, at the top of the flow",
    "sms": "under `sms`, at the top of the flow",
}
_HERE_WORDS = {"top": "at the top", "state": "in a state"}


def misplaced(key: str, path: Path, doc: Document, whole: dict[str, Any]) -> str | None:
    """Where an unknown key belongs, when it belongs somewhere else in a flow."""
    here = _here(path)
    if not here:
        return None
    places = _places(whole)
    body = doc.data.get("states", {}).get(path[1]) if here != "top" and len(path) > 1 else None
    found = [p for p in _order(here, body if isinstance(body, dict) else {}) if key in places[p]]
    if not found:
        return None
    place = found[0]
    if here == "top" and place == "state":
        return _state_key_at_top(key, doc)
    value = doc.text((*path, key), _value(doc, (*path, key)))
    words = _WHERE[place].replace("{here}", _HERE_WORDS.get(here, f"in `{here}`"))
    return f"`{key}` goes {words}{_example(place, key, value) if value else ''}"


def _value(doc: Document, path: Path) -> object:
    node: Any = doc.data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, (str, int, float, bool)) else ""


def _state_key_at_top(key: str, doc: Document) -> str:
    states_line = doc.lines(()).get("states", 0)
    line = doc.key_at((key,))[0]
    if states_line and line > states_line:
        above = _state_above(doc, line)
        if above:
            return f"this is a state's key: indent it under state `{above}`, like its other keys"
    return "this is a state's key: put the state under `states:`"


def _state_above(doc: Document, line: int, skip: frozenset[str] = frozenset()) -> str | None:
    lines = doc.lines(("states",)).items()
    above = [(at, name) for name, at in lines if at < line and name not in skip]
    return str(max(above)[1]) if above else None


def dedented(
    doc: Document, file: str, whole: dict[str, Any], problems: list[Problem]
) -> list[Problem]:
    """`problems`, with a state's key written at the level of the states said as that."""
    states = doc.data.get("states")
    if not isinstance(states, dict):
        return problems
    keys = whole["$defs"]["state"]["properties"]
    found: list[Problem] = []
    hidden: set[int] = set()
    wrong = frozenset(
        name
        for name, body in states.items()
        if name in keys and not (isinstance(body, dict) and set(body) <= set(keys))
    )
    for name in wrong:
        line, column = doc.key_at(("states", name))
        above = _state_above(doc, line, wrong)
        if above is None:
            continue
        end = _last_line(doc, ("states", name))
        hidden.update(range(line, end + 1))
        if states.get(above) is None:  # `welcome:` then its keys all too far left
            hidden.add(doc.at(("states", above))[0])
        message = (
            f"`{name}` is written at the level of the states, so it reads as a state named "
            f"`{name}`: indent it two more spaces, under state `{above}`"
        )
        found.append(Problem(file, line, column, "error", message))
    if not found:
        return problems
    kept = [
        p
        for p in problems
        if p.line not in hidden and not (p.level == "warning" and _NEVER_REACHED in p.message)
    ]
    return kept + found


def _last_line(doc: Document, path: Path) -> int:
    lines = doc.lines(path)
    return max([doc.at(path)[0], *lines.values()])
