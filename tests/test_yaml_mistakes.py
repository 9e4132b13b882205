"""YAML mistakes are told in the author's words, and the line they are told to type works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from ivr.flow.loader import load_flow, load_flow_text
from ivr.flow.problems import closest, has_errors, suggest
from ivr.flow.schema import schema

HERE = Path(__file__).parent
BROKEN = sorted((HERE / "broken").glob("*.yaml"))
FRONT_DESK = HERE.parent / "flows" / "front_desk.yaml"
# The corrected line a message offers, after the words that introduce it.
FIXED = re.compile(
    r"(?:in quotes|like the line above it|at the end of the text|on the same line): (?P<line>.+)$"
)


def test_no_message_in_the_corpus_is_the_parsers_own_words() -> None:
    for path in BROKEN:
        for problem in load_flow(path)[1]:
            assert not problem.message.startswith("YAML syntax"), str(problem)
            assert (
                "while parsing" not in problem.message and "while scanning" not in problem.message
            )


def offered_fixes(path: Path) -> list[tuple[int, str, bool]]:
    """The lines the messages of one broken flow offer: (where, what to type, joined)."""
    fixes = []
    for problem in load_flow(path)[1]:
        found = FIXED.search(problem.message)
        if found:  # a line to join to the one above replaces that one
            joined = "on the same line" in problem.message
            fixes.append((problem.line - joined, found["line"], joined))
    return fixes


# One test for the whole corpus: naming a test for each offered line would load the corpus in
# every test process at collection, whichever process runs this module.
def test_the_line_a_message_offers_fixes_the_flow() -> None:
    offered = 0
    for path in BROKEN:
        for line, fixed, joined in offered_fixes(path):
            offered += 1
            lines = path.read_text(encoding="utf-8").splitlines()
            written = lines[line - 1]
            lines[line - 1] = written[: len(written) - len(written.lstrip())] + fixed
            if joined:
                del lines[line]
            flow, problems = load_flow_text("\n".join(lines) + "\n", name=path.stem)
            assert [p for p in problems if p.line == line] == [], (path.name, line, fixed)
            assert flow is not None, (path.name, "\n".join(map(str, problems)))
    assert offered >= 20  # the corpus has a case of each kind of offered line


def test_the_corpus_has_a_case_for_each_mistake_people_make_by_hand() -> None:
    stems = {path.stem for path in BROKEN}
    for mistake in (
        "colon_in_text",
        "template_first",
        "tab_indent",
        "yaml_syntax",
        "item_without_dash",
        "key_without_value",
        "star_at_start",
        "ampersand_at_start",
        "at_sign_at_start",
        "backtick_at_start",
        "percent_at_start",
        "pipe_at_start",
        "greater_than_at_start",
        "hash_in_prompt",
        "pound_commented",
        "next_dedented",
        "timeout_in_state",
        "max_length_in_state",
        "if_no_answer_abbreviated",
        "off_stays_a_word",
    ):
        assert mistake in stems


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("emergency_vm", "emergency_voicemail"),  # word by word, each word begun
        ("book", "booking"),  # the start of the name
        ("voicemial", "voicemail"),  # a slip of the fingers
        ("emergency", "emergency"),
        ("main_mnu", "main_menu"),
    ],
)
def test_did_you_mean_prefers_what_the_author_started_typing(typed: str, meant: str) -> None:
    names = ["emergency", "emergency_voicemail", "booking", "voicemail", "main_menu", "goodbye"]
    assert closest(typed, names) == meant


def test_no_suggestion_for_a_word_like_nothing_known() -> None:
    assert closest("zz", ["booking", "goodbye"]) is None
    assert suggest("zz", ["booking", "goodbye"], "the states are") == (
        "the states are `booking`, `goodbye`"
    )


SPECIALS = ["*", "&", "@", "`", "%", "|", ">", "{", "[", '"', "'", "- ", "#", "!", ": ", "\t"]


def test_any_character_typed_anywhere_gets_a_message_not_a_crash() -> None:
    lines = FRONT_DESK.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        colon = line.find(": ")
        spots = {0, len(line) - len(line.lstrip()), colon + 2 if colon >= 0 else len(line)}
        for spot in spots:
            for typed in SPECIALS:
                changed = [*lines[:number], line[:spot] + typed + line[spot:], *lines[number + 1 :]]
                text = "\n".join(changed) + "\n"
                flow, problems = load_flow_text(text, name="typed")
                assert flow is not None or has_errors(problems)
                assert all(1 <= p.line <= len(changed) + 1 for p in problems), problems


EDITOR = Draft202012Validator(schema())
FLOW_WITH = """\
hours:
  office:
    timezone: America/New_York
    weekly: {{mon-fri: "{hours}"}}
    closed_on: ["{date}"]
sms: {{session_timeout: {timeout}}}
states:
  welcome:
    say: Hola.
    dial: "{number}"
"""
RIGHT = {
    "hours": "08:00-12:00, 13:00-18:00",
    "date": "2026-12-25",
    "timeout": "4h",
    "number": "+15555550100",
}
WRONG = [
    ("hours", "8am-6pm"),
    ("hours", "8-6"),
    ("date", "25/12/2026"),
    ("timeout", "4 hours"),
    ("number", "555-0100"),
    ("number", "+1 555 555 0100"),
]


def editor_errors(**values: str) -> list[str]:
    data = yaml.safe_load(FLOW_WITH.format(**{**RIGHT, **values}))
    return [error.message for error in EDITOR.iter_errors(data)]


def test_the_schema_as_an_editor_uses_it_accepts_values_written_right() -> None:
    assert editor_errors() == []
    assert editor_errors(hours="Closed") == []


@pytest.mark.parametrize("field, value", WRONG)
def test_the_schema_as_an_editor_uses_it_underlines_values_written_wrong(
    field: str, value: str
) -> None:
    assert len(editor_errors(**{field: value})) >= 1
