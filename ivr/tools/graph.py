"""`ivr graph`: a flow drawn as a Mermaid flowchart or a Graphviz digraph.

Both drawings come from one list of edges, so they always agree. Edge kinds are told apart by
style: answers and `next` are plain arrows, `branch` conditions thick, `if_no_answer`,
`if_failed` and running out of attempts dotted. A state no path reaches is drawn greyed out.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ivr.flow.model import (
    AskState,
    BranchState,
    Condition,
    DialState,
    FetchState,
    Flow,
    HangupState,
    PassState,
    QueueState,
    RecordState,
    RedirectState,
    RejectState,
    State,
)
from ivr.tools.check import load_one

Style = Literal["plain", "thick", "dotted"]
BEGIN, FINISH, ANYWHERE = "begin", "finish", "anywhere"  # never clash with `s<N>` ids
PROMPT_WORDS = 6
UNREACHABLE_STYLE = "fill:#eee,stroke:#999,stroke-dasharray:4 3,color:#777"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    style: Style = "plain"


def describe(condition: Condition | None) -> str:
    """A branch condition as a short label: `open office`, `zip = 12345`."""
    if condition is None:
        return "otherwise"
    if condition.kind in ("open", "closed"):
        return f"{condition.kind} {condition.name}"
    if condition.kind == "channel":
        return f"channel is {condition.name}"
    value = condition.value
    if condition.op == "set":
        return f"{condition.name} is {'set' if value else 'not set'}"
    if isinstance(value, re.Pattern):
        return f"{condition.name} matches {value.pattern}"
    if isinstance(value, tuple):
        return f"{condition.name} in {', '.join(value)}"
    return f"{condition.name} = {value}"


def _leaving(s: State, end: str = FINISH) -> list[Edge]:
    """The edges out of one state, in the order the engine tries them; `end` names the end."""
    name, then = s.name, s.next or end
    match s:
        case AskState():
            out = [Edge(name, c.target, " / ".join(c.answers)) for c in s.choices]
            if not s.choices:
                out.append(Edge(name, then, f"answer → {s.save}"))
            tries = f"no input / no match ×{s.attempts}"  # the attempts, both kinds together
            return [*out, Edge(name, s.fail or end, tries, "dotted")]
        case RecordState():
            return [Edge(name, then, "recorded")]
        case DialState():
            no_answer = Edge(name, s.if_no_answer or end, "no answer", "dotted")
            return [Edge(name, then, "answered"), no_answer]
        case QueueState():
            taken = Edge(name, then, "taken by staff")
            return [taken, Edge(name, s.if_no_answer or end, "no one took the call", "dotted")]
        case FetchState():
            # Without `if_failed`, a failed request goes on to `next` too.
            failed = [Edge(name, s.if_failed, "failed", "dotted")] if s.if_failed else []
            return [Edge(name, then, "fetched"), *failed]
        case BranchState():
            out = [Edge(name, b.target, describe(b.condition), "thick") for b in s.branch]
            if all(b.condition for b in s.branch):  # no otherwise item: `next`, or the end
                out.append(Edge(name, then, "otherwise", "thick"))
            return out
        case RejectState():
            return [Edge(name, end, "reject")]
        case RedirectState():
            return [Edge(name, end, "redirect")]
        case HangupState():
            return [Edge(name, end)]
        case PassState():
            return [Edge(name, then)]


def edges(flow: Flow) -> list[Edge]:
    """Every edge of the drawing, between state names and the begin/finish/anywhere nodes."""
    found = [Edge(BEGIN, flow.start)]
    for state in flow.states.values():
        found += _leaving(state)
    found += [Edge(ANYWHERE, s.target, " / ".join(s.answers)) for s in flow.shortcuts]
    return found


def unreachable(flow: Flow) -> list[str]:
    """The states no path from the start reaches (shortcuts count from any waiting state)."""
    reached, todo = {flow.start}, [flow.start]
    while todo:
        state = flow.states[todo.pop()]
        # `next` counts even where the engine ignores it, as in the checks' own reachability;
        # "" is no state's name, so the ends of the drawing lead nowhere here.
        targets = [edge.target for edge in _leaving(state, end="")] + [state.next or ""]
        if isinstance(state, AskState):
            targets += [s.target for s in flow.shortcuts]
        for target in targets:
            if target in flow.states and target not in reached:
                reached.add(target)
                todo.append(target)
    return [name for name in flow.states if name not in reached]


def _label(state: State, language: str | None = None) -> tuple[str, str]:
    # One language per picture: a prompt of its own in that language first, else the first
    # prompt's text in it (or in the flow's language, where it has none).
    says = [p for p in state.say if p.kind == "say"]
    own = [p for p in says if language and p.language == language]
    first_said = (own or says)[0] if says else None
    if first_said is None:
        spoken = ""
    elif first_said.words is not None:
        spoken = first_said.words.pick(language)[0]
    else:
        spoken = first_said.text
    words = spoken.split()
    first = " ".join(words[:PROMPT_WORDS]) + (" …" if len(words) > PROMPT_WORDS else "")
    return state.name, first


def mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: entities for what Mermaid would parse."""
    text = " ".join(text.split())
    for char, entity in (
        ("#", "#35;"),
        ('"', "#quot;"),
        ("<", "#lt;"),
        (">", "#gt;"),
        ("|", "#124;"),
        ("`", "#96;"),
        ("&", "#amp;"),
    ):
        text = text.replace(char, entity)
    return text


def _ids(flow: Flow) -> dict[str, str]:
    # Node ids never come from state names: no escaping, no clash with the extra nodes.
    ids = {name: f"s{i}" for i, name in enumerate(flow.states)}
    return ids | {BEGIN: BEGIN, FINISH: FINISH, ANYWHERE: ANYWHERE}


def mermaid(flow: Flow, notes: Mapping[str, str] | None = None, language: str | None = None) -> str:
    """A Mermaid `flowchart TD` of the flow; `notes` adds a line under some states' names.

    Prompts are shown in `language` (default: the flow's first language)."""
    ids = _ids(flow)
    notes = notes or {}
    all_edges = edges(flow)
    lines = ["flowchart TD", f'    {BEGIN}(("start"))']
    for state in flow.states.values():
        name, prompt = (mermaid_text(part) for part in _label(state, language))
        label = f"<b>{name}</b>" + (f"<br/>{prompt}" if prompt else "")
        if state.name in notes:
            label += f"<br/><i>{mermaid_text(notes[state.name])}</i>"
        shape = ('{"', '"}') if isinstance(state, BranchState) else ('["', '"]')
        lines.append(f"    {ids[state.name]}{shape[0]}{label}{shape[1]}")
    if any(e.target == FINISH for e in all_edges):
        lines.append(f'    {FINISH}((("end")))')
    if flow.shortcuts:
        lines.append(f'    {ANYWHERE}[/"shortcuts, from any wait"/]')
    arrows = {"plain": "-->", "thick": "==>", "dotted": "-.->"}
    for e in all_edges:
        label = f'|"{mermaid_text(e.label)}"|' if e.label else ""
        lines.append(f"    {ids[e.source]} {arrows[e.style]}{label} {ids[e.target]}")
    lost = unreachable(flow)
    if lost:
        lines.append(
            "    classDef unreachable fill:#eee,stroke:#999,stroke-dasharray:4 3,color:#777"
        )
        lines.append(f"    class {','.join(ids[name] for name in lost)} unreachable")
    return "\n".join(lines)


def dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(flow: Flow, notes: Mapping[str, str] | None = None, language: str | None = None) -> str:
    """A Graphviz digraph of the flow, its prompts in `language` (default: the flow's first)."""
    ids = _ids(flow)
    lost = set(unreachable(flow))
    all_edges = edges(flow)
    lines = [
        f"digraph {dot_text(flow.name)} {{",
        '    node [shape=box, fontname="Helvetica"];',
        f'    {BEGIN} [shape=circle, label="start"];',
    ]
    if any(e.target == FINISH for e in all_edges):
        lines.append(f'    {FINISH} [shape=doublecircle, label="end"];')
    if flow.shortcuts:
        lines.append(f'    {ANYWHERE} [shape=parallelogram, label="shortcuts, from any wait"];')
    for state in flow.states.values():
        name, prompt = _label(state, language)
        attrs = [f"label={dot_text(name + (chr(10) + prompt if prompt else ''))}"]
        if isinstance(state, BranchState):
            attrs.append("shape=diamond")
        if state.name in lost:
            attrs.append('style="dashed,filled", fillcolor="#eeeeee", fontcolor="#777777"')
        lines.append(f"    {ids[state.name]} [{', '.join(attrs)}];")
    styles = {"plain": "", "thick": "style=bold", "dotted": "style=dotted"}
    for e in all_edges:
        attrs = [f"label={dot_text(e.label)}"] if e.label else []
        attrs += [styles[e.style]] if styles[e.style] else []
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {ids[e.source]} -> {ids[e.target]}{suffix};")
    lines.append("}")
    return "\n".join(lines)


def graph(flow: str, *, flows_dir: str, fmt: str, language: str | None = None) -> int:
    """Print `flow` as a Mermaid flowchart (`fmt` "mermaid") or a Graphviz digraph ("dot"),
    its prompts in `language` (one of the flow's; default its first)."""
    flows = load_one(flows_dir, flow)
    if flows is None:
        return 1
    found = flows[flow]
    if language is not None and language not in found.languages:
        spoken = ", ".join(found.languages) or "only its own (no `language` given)"
        print(
            f"error: flow {flow!r} doesn't speak {language!r} (it speaks {spoken})", file=sys.stderr
        )
        return 1
    print((dot if fmt == "dot" else mermaid)(found, None, language))
    return 0
