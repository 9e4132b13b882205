"""Templates: `{{ NAME }}` and `{{ NAME | spell }}`, text substitution only."""

from __future__ import annotations

import pytest

from ivr.flow.templates import check, mistakes, names, parse, render, spell


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hello {{ name }}!", "Hello Ann!"),
        ("Hello {{name}}!", "Hello Ann!"),
        ("{{ caller | spell }}", "+ 1 5 5 5 1 2 3 4"),
        ("{{caller|spell}}.", "+ 1 5 5 5 1 2 3 4."),
        ("[{{ missing }}]", "[]"),
        ("No templates here.", "No templates here."),
        ("{{ name }} and {{ name }}", "Ann and Ann"),
    ],
)
def test_render(template: str, expected: str) -> None:
    variables = {"name": "Ann", "caller": "+15551234"}
    assert render(template, variables) == expected


def test_values_are_never_evaluated() -> None:
    # A caller's answer that looks like a template stays text: it is not rendered again.
    said = "{{ secret }} {{ __import__('os') }}"
    assert render("You said: {{ answer }}", {"answer": said, "secret": "x"}) == (
        f"You said: {said}"
    )


def test_spell_skips_spaces() -> None:
    assert spell("AB 12") == "A B 1 2"
    assert spell("") == ""


def test_parse_is_cached() -> None:
    assert parse("Hi {{ name }}") is parse("Hi {{ name }}")


def test_names_in_order_once() -> None:
    assert names("{{ b }} {{ a | spell }} {{ b }}") == ["b", "a"]
    assert names("no slots") == []


def test_mistakes() -> None:
    assert mistakes("{{ ok }} {{ caller | spell }}") == []
    found = mistakes("{{ first name }} {{ zip | upper }} {{ open")
    assert len(found) == 3
    assert found[0].startswith("`{{ first name }}` is not a template")
    assert found[1] == "unknown filter `upper`: the only filter is `spell`"
    assert found[2].startswith("`{{ open` is not a template")


def test_check_names_unset_variables() -> None:
    assert check("{{ name }} {{ caller }}", {"name", "caller"}) == []
    assert check("{{ nmae }}", {"name"}) == [
        "`{{ nmae }}` names a variable nothing sets: did you mean `name`?"
    ]
    assert check("{{ zzz }}", {"name"}) == ["`{{ zzz }}` names a variable nothing sets"]
