"""The published schema, its quick yes/no test, and the two ways of printing problems."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from ivr.flow.loader import load_flow_text
from ivr.flow.problems import Problem, format_github, format_text
from ivr.flow.schema import _fast_state, _fast_top, _validators, schema, schema_text
from ivr.flow.yamlload import parse

HERE = Path(__file__).parent
FLOWS = sorted([*(HERE / "good").glob("*.yaml"), *(HERE.parent / "flows").glob("*.yaml")])
# libyaml's writer where PyYAML has it: the pure-Python one took most of this module's time.
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def test_the_schema_is_valid_draft_2020_12() -> None:
    loaded = json.loads(schema_text())
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(loaded)


def objects(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append((path, node))
        for key, value in node.items():
            found += objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += objects(value, f"{path}/{i}")
    return found


def test_every_key_has_help_and_nothing_else_is_allowed() -> None:
    mappings = objects(schema())
    assert len(mappings) >= 8
    for path, node in mappings:
        if path.endswith(("/then", "/if")) or "/oneOf/" in path:
            continue
        assert node.get("additionalProperties") is False, path
        for key, sub in node["properties"].items():
            assert sub.get("description"), f"{path}/{key}"


def states_of(path: Path) -> list[Any]:
    doc, _ = parse(path.read_text(encoding="utf-8"), str(path))
    assert doc is not None
    return list(doc.data["states"].values())


def mutations(value: Any, rng: random.Random) -> list[Any]:
    """Copies of a state with one value swapped for something of another kind."""
    swaps = [None, True, 0, -1, 2.5, "x", "", [], {}, ["x"], {"x": 1}, "+15555550100", "keys"]
    out: list[Any] = []
    if isinstance(value, dict):
        for key in value:
            for swap in rng.sample(swaps, 4):
                out.append({**value, key: swap})
            for inner in mutations(value[key], rng)[:6]:
                out.append({**value, key: inner})
        out.append({**value, "extra": 1})
    elif isinstance(value, list) and value:
        for swap in rng.sample(swaps, 3):
            out.append([swap, *value[1:]])
        for inner in mutations(value[0], rng)[:4]:
            out.append([inner, *value[1:]])
    return out


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_the_quick_test_agrees_with_jsonschema(path: Path) -> None:
    rng = random.Random(path.stem)
    fast, state = _fast_state(), _validators()[1]
    outcomes = []
    for body in states_of(path):
        for candidate in [body, *mutations(body, rng)]:
            outcomes.append(state.is_valid(candidate))
            assert fast(candidate) == outcomes[-1], candidate
    assert len(outcomes) > 50 and outcomes.count(True) > 10 and outcomes.count(False) > 10


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_the_quick_test_of_the_top_agrees_with_jsonschema(path: Path) -> None:
    # A flow that passes the quick tests is never shown to jsonschema (nor is it imported).
    rng = random.Random(path.name)
    doc, _ = parse(path.read_text(encoding="utf-8"), str(path))
    assert doc is not None
    fast, top = _fast_top(), _validators()[0]
    outcomes = []
    for candidate in [doc.data, *mutations(doc.data, rng), [doc.data], "states"]:
        outcomes.append(top.is_valid(candidate))
        assert fast(candidate) == outcomes[-1], candidate
    assert outcomes[0] and outcomes.count(False) > 5


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_wrong_values_anywhere_are_problems_not_tracebacks(path: Path) -> None:
    rng = random.Random(path.name)
    doc, _ = parse(path.read_text(encoding="utf-8"), str(path))
    assert doc is not None
    for name, body in doc.data["states"].items():
        candidates = mutations(body, rng)
        for candidate in rng.sample(candidates, min(len(candidates), 12)):
            data = {**doc.data, "states": {**doc.data["states"], name: candidate}}
            text = yaml.dump(data, Dumper=DUMPER, sort_keys=False, allow_unicode=True)
            flow, problems = load_flow_text(text, name="mutated")
            assert (flow is None) == any(p.level == "error" for p in problems)


def test_text_that_is_not_unicode_is_a_problem() -> None:
    flow, problems = load_flow_text("states:\n  a:\n    say: caf\udce9\n", name="x")
    assert flow is None
    assert [str(p) for p in problems] == [
        "x.yaml:3:13: error: the text is not valid Unicode: save it as UTF-8"
    ]


PROBLEMS = [
    Problem("flows/b.yaml", 9, 3, "warning", "state `x` is never reached"),
    Problem("flows/a.yaml", 4, 11, "error", "`next` goes to `bokking`: did you mean `booking`?"),
    Problem("flows/a.yaml", 4, 11, "warning", "100% sure, a: b\nnext line"),
    Problem("flows/a.yaml", 2, 1, "error", "unknown key `sya`"),
]


def test_format_text() -> None:
    assert format_text(PROBLEMS).splitlines() == [
        "flows/a.yaml:2:1: error: unknown key `sya`",
        "flows/a.yaml:4:11: error: `next` goes to `bokking`: did you mean `booking`?",
        "flows/a.yaml:4:11: warning: 100% sure, a: b\nnext line".splitlines()[0],
        "next line",
        "flows/b.yaml:9:3: warning: state `x` is never reached",
    ]
    assert format_text([]) == ""


def test_format_github() -> None:
    assert format_github(PROBLEMS).splitlines() == [
        "::error file=flows/a.yaml,line=2,col=1::unknown key `sya`",
        "::error file=flows/a.yaml,line=4,col=11::`next` goes to `bokking`: did you mean "
        "`booking`?",
        "::warning file=flows/a.yaml,line=4,col=11::100%25 sure, a: b%0Anext line",
        "::warning file=flows/b.yaml,line=9,col=3::state `x` is never reached",
    ]
    odd = Problem("my flows/a,b.yaml", 1, 1, "error", "x")
    assert format_github([odd]) == "::error file=my flows/a%2Cb.yaml,line=1,col=1::x"
