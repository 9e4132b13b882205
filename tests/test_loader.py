"""Loading flows into the model: defaults, conversions, files and folders, and refusals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

import pytest

from ivr.flow.loader import load_flow, load_flow_text, load_flows
from ivr.flow.model import (
    AskState,
    BranchState,
    Condition,
    Dial,
    DialState,
    Flow,
    Gather,
    HangupState,
    PassState,
    Prompt,
    Record,
    RecordState,
    RejectState,
    State,
    Text,
)

K = TypeVar("K", bound=State)


def kind(state: State, cls: type[K]) -> K:
    """The state, checked to be of the kind the test expects."""
    assert isinstance(state, cls), f"{state.name} is a {type(state).__name__}"
    return state


def load(text: str) -> Flow:
    flow, problems = load_flow_text(text, name="test")
    assert problems == [], "\n".join(map(str, problems))
    assert flow is not None
    return flow


def problems_of(text: str) -> list[str]:
    return [str(p) for p in load_flow_text(text, name="test")[1]]


MENU = """
states:
  menu:
    say: Press 1 or 2, or say help.
    choices:
      "1, one": first
      " 2 ,two ": second
      help: first
    gather: {listen: both}
  first:
    say: [One., {pause: 2}]
    next: menu
  second:
    say: Two.
    next: menu
"""


def test_a_menu_gets_its_defaults() -> None:
    flow = load(MENU)
    assert flow.start == "menu"
    menu = kind(flow.states["menu"], AskState)
    assert [c.answers for c in menu.choices] == [("1", "one"), ("2", "two"), ("help",)]
    assert [c.line for c in menu.choices] == [6, 7, 8]
    assert menu.line == 3
    assert menu.gather == Gather(digits=1, listen="both", hints="one, two, help")
    assert menu.attempts == 3 and menu.fail is None
    first = kind(flow.states["first"], PassState)
    assert first.say == (Prompt("say", "One."), Prompt("pause", seconds=2))
    assert first.next == "menu"


def test_version_source_and_path() -> None:
    flow, _ = load_flow_text(MENU, name="menu", path="flows/menu.yaml")
    assert flow is not None
    assert re.fullmatch(r"[0-9a-f]{16}", flow.version)
    assert flow.source == MENU and flow.path == "flows/menu.yaml"
    other, _ = load_flow_text(MENU + "\n# edited\n", name="menu")
    assert other is not None and other.version != flow.version


def test_digits_only_when_all_digit_answers_have_the_same_length() -> None:
    flow = load(
        """
states:
  a:
    say: Enter 10 or 20.
    choices: {"10": b, "20": b, twenty: b}
  b:
    say: Enter 1 or 22.
    choices: {"1": a, "22": a}
"""
    )
    states = flow.states
    assert kind(states["a"], AskState).gather == Gather(digits=2)
    assert kind(states["b"], AskState).gather == Gather(digits=None)


def test_values_become_the_models_types() -> None:
    flow = load(
        """
start: screen
vars: {zip: 02134, vip: true, rate: 1.50, blank: }
sms: {session_timeout: 90m}
states:
  screen:
    branch:
      - if: {var: caller, in: [+15555550100, 15555550101]}
        next: refuse
      - if: {var: zip, equals: 02134}
        next: ring
      - if: {var: caller, matches: "^\\\\+1"}
        next: ring
      - if: {var: zip, set: true}
        next: ring
      - if: {channel: voice}
        next: ring
      - next: ring
  refuse:
    reject: true
  ring:
    set: {count: 3, flag: false}
    dial: ["+15555550100", "+15555550101"]
    if_no_answer: message
  message:
    record: {max_length: 30, beep: false}
    save: recording
    next: bye
  bye:
    hangup: true
"""
    )
    assert flow.vars == {"zip": "02134", "vip": "true", "rate": "1.50", "blank": ""}
    assert flow.sms_session_timeout == 5400.0
    states = flow.states
    conditions = [item.condition for item in kind(states["screen"], BranchState).branch]
    assert conditions[0] == Condition("var", "caller", "in", ("+15555550100", "15555550101"))
    assert conditions[1] == Condition("var", "zip", "equals", "02134")
    assert conditions[2] == Condition("var", "caller", "matches", re.compile(r"^\+1"))
    assert conditions[3] == Condition("var", "zip", "set", True)
    assert conditions[4] == Condition("channel", "voice")
    assert conditions[5] is None
    assert kind(states["refuse"], RejectState).reject == "rejected"
    assert states["ring"].set == (("count", "3"), ("flag", "false"))
    assert kind(states["ring"], DialState).dial == Dial(("+15555550100", "+15555550101"))
    message = kind(states["message"], RecordState)
    assert message.record == Record(max_length=30, beep=False) and message.save == "recording"
    # `save` beside `record` keeps the recording: a record state, not one that waits
    assert isinstance(states["bye"], HangupState)


@pytest.mark.parametrize(
    ("written", "seconds"), [("4h", 14400.0), ("30m", 1800.0), ("90s", 90.0), ("1d", 86400.0)]
)
def test_session_timeout(written: str, seconds: float) -> None:
    flow = load(f"sms: {{session_timeout: {written}}}\nstates: {{a: {{say: Hi}}}}\n")
    assert flow.sms_session_timeout == seconds


def test_strict_yaml_words_and_keys() -> None:
    flow = load(
        """
states:
  menu:
    say: Yes or no?
    choices:
      yes: menu
      no: menu
      "1": menu
      01: menu
      on: menu
"""
    )
    answers = [c.answers[0] for c in kind(flow.states["menu"], AskState).choices]
    assert answers == ["yes", "no", "1", "01", "on"]


def test_a_key_written_twice_is_an_error_not_an_overwrite() -> None:
    found = problems_of("states:\n  a:\n    say: one\n    say: two\n")
    assert found == ["test.yaml:4:5: error: `say` is written twice here (first on line 3)"]


def test_over_a_megabyte_is_refused(tmp_path: Path) -> None:
    text = "states:\n  a:\n    say: " + "x" * 1_000_001 + "\n"
    flow, problems = load_flow_text(text, name="big")
    assert flow is None and [p.message for p in problems] == [
        "the file is over 1 MB: split it into several flows"
    ]
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    flow, problems = load_flow(path)
    assert flow is None and len(problems) == 1 and "over 1 MB" in problems[0].message


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"states:\n  caf\xe9:\n    say: Bonjour\n")
    flow, problems = load_flow(path)
    assert flow is None
    assert [(p.line, p.column, p.level) for p in problems] == [(2, 6, "error")]
    assert "not UTF-8" in problems[0].message


def test_the_file_name_must_name_a_flow(tmp_path: Path) -> None:
    path = tmp_path / "Front Desk.yaml"
    path.write_text("states:\n  a:\n    say: Hi\n", encoding="utf-8")
    flow, problems = load_flow(path)
    assert flow is None
    assert [(p.line, p.level) for p in problems] == [(1, "error")]
    assert "`Front Desk` can't be a flow's name" in problems[0].message


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    flows, problems = load_flows([tmp_path / "nowhere"])
    assert flows == {} and [p.message for p in problems] == ["no such file or folder"]
    flow, problems = load_flow(tmp_path / "gone.yaml")
    assert flow is None and "can't read the file" in problems[0].message


def test_a_folder_is_its_yaml_files_not_its_subfolders(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "desk.yaml").write_text("not: a flow\n", encoding="utf-8")
    (tmp_path / "desk.yaml").write_text("states: {a: {say: Hi}}\n", encoding="utf-8")
    (tmp_path / "line.yml").write_text("states: {b: {say: Hi}}\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not yaml", encoding="utf-8")
    flows, problems = load_flows([tmp_path])
    assert problems == [] and sorted(flows) == ["desk", "line"]
    assert flows["line"].path == str(tmp_path / "line.yml")


def test_two_files_with_one_name(tmp_path: Path) -> None:
    (tmp_path / "desk.yaml").write_text("states: {a: {say: Hi}}\n", encoding="utf-8")
    (tmp_path / "desk.yml").write_text("states: {b: {say: Hi}}\n", encoding="utf-8")
    flows, problems = load_flows([tmp_path])
    assert list(flows) == ["desk"]
    assert [p.file for p in problems] == [str(tmp_path / "desk.yml")]
    assert "already in" in problems[0].message


def test_problems_come_all_at_once_in_reading_order() -> None:
    found = problems_of(
        """
states:
  a:
    sya: Hi
    next: c
  b:
    attempts: lots
"""
    )
    assert [line.split(": ")[0] for line in found] == [
        "test.yaml:4:5",
        "test.yaml:5:11",
        "test.yaml:6:3",
        "test.yaml:7:15",
    ]
    assert "did you mean `say`?" in found[0] and "no state has that name" in found[1]
    assert "warning: state `b` is never reached" in found[2]


def test_a_control_character_is_pointed_at() -> None:
    assert problems_of("states:\n  a:\n    say: Hi\x07there\n") == [
        "test.yaml:3:12: error: the control character U+0007 is not allowed in a flow file"
    ]


def test_merged_keys_give_way_to_written_ones() -> None:
    flow = load(
        """
states:
  ask:
    <<: &polite {no_input: Sorry?, attempts: 2}
    say: Your name?
    save: name
    next: again
  again:
    <<: *polite
    attempts: 5
    say: And again?
    save: again
"""
    )
    ask, again = kind(flow.states["ask"], AskState), kind(flow.states["again"], AskState)
    assert (ask.no_input, ask.attempts) == ((Text("Sorry?"),), 2)
    assert (again.no_input, again.attempts) == ((Text("Sorry?"),), 5)
