"""The checks of a flow as a graph of states: loops that never wait, states never reached.

They read the document as written (the model is built only when nothing is wrong), through the
same `Checker` as the other checks, so their problems come out with the others, all at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ivr.flow.model import kind_of, waits

if TYPE_CHECKING:
    from ivr.flow.checks import Checker

# Keys after which a caller has heard or been asked something, so the call was answered.
_ANSWERED = (
    "say", "choices", "save", "record", "dial", "queue", "fetch", "redirect", "hangup"
)  # fmt: skip


def map_of(value: object) -> dict[str, Any]:
    """The value if it is a mapping, else empty: the schema speaks for the wrong type."""
    return value if isinstance(value, dict) else {}


def list_of(value: object) -> list[Any]:
    """The value if it is a list, else empty: the schema speaks for the wrong type."""
    return value if isinstance(value, list) else []


def edges(checker: Checker, body: dict[str, Any], *, all_kinds: bool = True) -> Iterator[str]:
    """The states a state can go to (only `next` and `branch` when not `all_kinds`)."""
    found = [map_of(item).get("next") for item in list_of(body.get("branch"))]
    found.append(body.get("next"))
    found.append(body.get("if_failed"))  # a failed request goes on without waiting too
    if all_kinds:
        found += list(map_of(body.get("choices")).values())
        found += [body.get("fail"), body.get("if_no_answer")]
    return (target for target in found if isinstance(target, str) and target in checker.states)


def _spins(body: dict[str, Any]) -> bool:
    """Whether a state passes straight on: a wait, a recording or a call breaks a loop."""
    match kind_of(body):
        case "pass" | "branch" | "fetch":  # a request is no wait for the caller
            return True
        case "ask" | "record" | "dial" | "queue" | "redirect" | "reject" | "hangup":
            return False


def check_loops(checker: Checker) -> None:
    graph = {
        name: list(dict.fromkeys(edges(checker, body, all_kinds=False)))
        for name, body in checker.states.items()
        if _spins(body)
    }
    for loop in _loops({name: [t for t in ts if t in graph] for name, ts in graph.items()}):
        shown = " → ".join(f"`{name}`" for name in [*loop, loop[0]])
        message = (
            f"these states go round forever without waiting for the caller: {shown}; make "
            "one of them wait for an answer (`choices` or `save`) or end"
        )
        checker.report("error", ("states", loop[0]), message, key=True)


def _reached(checker: Checker) -> set[tuple[str, bool]]:
    # A state is reached "quiet" while nothing was said or asked on the way from the start
    # (only `set` and `branch`), "loud" after: `reject` needs quiet, as Twilio can only
    # refuse a call that hasn't been answered.
    seen, todo = {(checker.start, False)}, [(checker.start, False)]
    while todo:
        name, loud = todo.pop()
        body = checker.states[name]
        loud = loud or any(body.get(key) for key in _ANSWERED)
        found = list(edges(checker, body))
        if waits(body):  # shortcuts work in every waiting state
            found += [t for t in checker.shortcuts.values() if isinstance(t, str)]
        fresh = [(t, loud) for t in found if t in checker.states and (t, loud) not in seen]
        seen.update(fresh)
        todo += fresh
    return seen


def check_reachable(checker: Checker) -> None:
    if checker.start not in checker.states:
        return
    seen = _reached(checker)
    reached = {name for name, _ in seen}
    for name, body in checker.states.items():
        if name not in reached:
            message = (
                f"state `{name}` is never reached: no `next`, choice, branch or shortcut leads "
                f"to it from the start state `{checker.start}`"
            )
            checker.report("warning", ("states", name), message, key=True)
        elif body.get("reject") and "say" in body:
            message = f"`reject` after a prompt in state `{name}`: a refused call hears nothing"
            message += ", so remove `say`"
            checker.report("error", ("states", name, "reject"), message, key=True)
        elif body.get("reject") and (name, True) in seen:
            message = (
                f"`reject` in state `{name}` can come after the call was answered: a call can "
                "only be refused as the first thing it does, before anything is said or asked"
            )
            checker.report("error", ("states", name, "reject"), message, key=True)


def _loops(graph: dict[str, list[str]]) -> list[list[str]]:
    """The cycles a depth-first walk finds: each once, in order, from where it closes."""
    done: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in done:
            continue
        path, todo = [root], [iter(graph[root])]
        on_path = {root}
        while todo:
            child = next(todo[-1], None)
            if child is None:
                done.add(path[-1])
                on_path.discard(path.pop())
                todo.pop()
            elif child in on_path:
                found.append(path[path.index(child) :])
            elif child not in done:
                path.append(child)
                on_path.add(child)
                todo.append(iter(graph[child]))
    return found
