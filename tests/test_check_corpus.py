"""Every broken flow in tests/broken is reported exactly as its `# expect:` lines say.

A broken flow starts with one or more lines `# expect: LINE: LEVEL: WORDS`: a problem must be
reported on that line, at that level, with those words in its message. Every problem reported
must be expected, so a flow that grows an extra problem fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.flow.loader import load_flow, load_flow_text, load_flows
from ivr.flow.problems import Problem

HERE = Path(__file__).parent
BROKEN = sorted((HERE / "broken").glob("*.yaml"))
GOOD = sorted((HERE / "good").glob("*.yaml"))
EXAMPLES = sorted((HERE.parent / "flows").glob("*.yaml"))
CONTRACT = HERE.parent / "docs" / "flow-format.md"  # the format contract, as published
EXPECT = re.compile(r"^# expect: (\d+): (error|warning): (.+)$", re.MULTILINE)


def expectations(path: Path) -> list[tuple[int, str, str]]:
    text = path.read_text(encoding="utf-8")
    return [(int(line), level, words) for line, level, words in EXPECT.findall(text)]


def matches(problem: Problem, expected: tuple[int, str, str]) -> bool:
    line, level, words = expected
    return problem.line == line and problem.level == level and words in problem.message


def test_the_corpus_is_big_enough() -> None:
    assert len(BROKEN) >= 35
    assert all(expectations(path) for path in BROKEN), "each broken flow says what to expect"


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_flow_is_reported_as_expected(path: Path) -> None:
    flow, problems = load_flow(path)
    wanted = expectations(path)
    shown = "\n".join(str(p) for p in problems)
    for expected in wanted:
        assert any(matches(p, expected) for p in problems), f"missing {expected}, got:\n{shown}"
    for problem in problems:
        assert any(matches(problem, e) for e in wanted), f"unexpected: {problem}"
        assert problem.file == str(path)
    if any(level == "error" for _, level, _ in wanted):
        assert flow is None
    else:
        assert flow is not None  # warnings alone don't stop a flow


@pytest.mark.parametrize("path", GOOD + EXAMPLES, ids=[p.stem for p in GOOD + EXAMPLES])
def test_good_flow_checks_clean(path: Path) -> None:
    flow, problems = load_flow(path)
    assert problems == []
    assert flow is not None and flow.name == path.stem


def contract_flows() -> list[str]:
    text = CONTRACT.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    return [block for block in blocks if re.search(r"^states:", block, re.MULTILINE)]


def test_every_whole_flow_in_the_contract_checks_clean() -> None:
    flows = contract_flows()
    assert flows
    for i, text in enumerate(flows):
        flow, problems = load_flow_text(text, name=f"contract_{i}")
        assert problems == [], "\n".join(map(str, problems))
        assert flow is not None


def test_front_desk_is_the_contract_example() -> None:
    front_desk = (HERE.parent / "flows" / "front_desk.yaml").read_text(encoding="utf-8")
    assert front_desk == contract_flows()[0]


def test_a_folder_reports_every_broken_file_at_once() -> None:
    flows, problems = load_flows([HERE / "broken"])
    broken_files = {p.file for p in problems if p.level == "error"}
    warned_only = [p for p in BROKEN if all(lv == "warning" for _, lv, _ in expectations(p))]
    assert len(broken_files) == len(BROKEN) - len(warned_only)
    assert sorted(flows) == sorted(p.stem for p in warned_only)
    assert problems == sorted(problems, key=lambda p: p.sort_key)
