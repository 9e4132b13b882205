"""`ivr graph`: the edges of a flow in Mermaid and Graphviz, styles, escaping, unreachable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.flow.loader import load_flows
from ivr.tools.graph import graph, mermaid_text

FLOWS = Path(__file__).parent / "flowtests_cases" / "flows"


def draw(capsys: pytest.CaptureFixture[str], fmt: str) -> str:
    assert graph("desk", flows_dir=str(FLOWS), fmt=fmt) == 0
    return capsys.readouterr().out


def ids(text: str) -> dict[str, str]:
    """State name -> node id, from the node lines: `s3["<b>hours</b>..` or `s3 [label="hours..`."""
    found = re.findall(r'^\s+(s\d+)(?:\W*<b>| \[label=")(\w+)', text, re.M)
    return {name: node for node, name in found}


def test_mermaid_edges_and_styles(capsys: pytest.CaptureFixture[str]) -> None:
    out = draw(capsys, "mermaid")
    assert out.startswith("flowchart TD\n")
    n = ids(out)
    expected = [
        f"begin --> {n['welcome']}",
        f"{n['welcome']} --> {n['check_hours']}",
        f'{n["check_hours"]} ==>|"open office"| {n["main_menu"]}',
        f'{n["check_hours"]} ==>|"otherwise"| {n["closed"]}',
        f'{n["main_menu"]} -->|"1 / hours"| {n["hours"]}',
        f'{n["main_menu"]} -->|"3 / message"| {n["voicemail"]}',
        f'{n["main_menu"]} -.->|"no input / no match ×3"| {n["goodbye"]}',
        f'{n["booking"]} -->|"answer → zip"| {n["confirm"]}',
        f'{n["operator"]} -->|"answered"| {n["goodbye"]}',
        f'{n["operator"]} -.->|"no answer"| {n["voicemail"]}',
        f'anywhere -->|"0 / operator"| {n["operator"]}',
        f"{n['goodbye']} --> finish",
    ]
    lines = {line.strip() for line in out.splitlines()}
    for edge in expected:
        assert edge in lines
    assert f"class {n['old_promo']} unreachable" in lines
    assert any(line.startswith("classDef unreachable ") for line in lines)
    assert f'{n["check_hours"]}{{"<b>check_hours</b>"}}' in lines  # a branch is a rhombus


def test_mermaid_labels_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    out = draw(capsys, "mermaid")
    promo = next(line for line in out.splitlines() if "old_promo" in line)
    assert "Press #quot;1#quot; [now] for #lt;sales#gt; #amp; …" in promo
    assert promo.count('"') == 2  # only the label's own quotes
    assert mermaid_text('a "b" | #c <d>') == "a #quot;b#quot; #124; #35;c #lt;d#gt;"


def test_dot(capsys: pytest.CaptureFixture[str]) -> None:
    out = draw(capsys, "dot")
    assert out.startswith('digraph "desk" {')
    n = ids(out)
    assert f'{n["check_hours"]} -> {n["main_menu"]} [label="open office", style=bold];' in out
    assert f'{n["operator"]} -> {n["voicemail"]} [label="no answer", style=dotted];' in out
    assert f'{n["main_menu"]} -> {n["hours"]} [label="1 / hours"];' in out
    promo = next(line for line in out.splitlines() if line.strip().startswith(n["old_promo"]))
    assert 'label="old_promo\\nPress \\"1\\" [now]' in promo and "dashed,filled" in promo
    assert out.rstrip().endswith("}")


def test_every_reachable_state_has_a_way_out(capsys: pytest.CaptureFixture[str]) -> None:
    flows, _ = load_flows([FLOWS])
    out = draw(capsys, "mermaid")
    n = ids(out)
    for name in flows["desk"].states:
        assert re.search(rf"^\s+{n[name]} (-->|==>|-\.->)", out, re.M), name


def test_unknown_flow(capsys: pytest.CaptureFixture[str]) -> None:
    assert graph("nope", flows_dir=str(FLOWS), fmt="mermaid") == 1
    assert "no flow named 'nope'" in capsys.readouterr().err


def test_a_queue_is_drawn_with_both_its_exits(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        graph("front_desk", flows_dir=str(Path(__file__).parent.parent / "flows"), fmt="dot") == 0
    )
    out = capsys.readouterr().out
    names = ids(out)
    hold, goodbye, voicemail = names["hold"], names["goodbye"], names["voicemail"]
    assert f'{names["operator"]} -> {hold} [label="no answer", style=dotted];' in out
    assert f'{hold} -> {goodbye} [label="taken by staff"];' in out
    assert f'{hold} -> {voicemail} [label="no one took the call", style=dotted];' in out
