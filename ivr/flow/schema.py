"""The published JSON Schema of flow files, and its errors rewritten in plain words.

The schema (`schema.json`, shipped in the package) is what editors use for completion and help;
the same file checks every flow, so the two can't drift apart. A validator's error such as
"'sya' was unexpected" becomes "unknown key `sya` in state `welcome`: did you mean `say`?",
pointed at the line and column of the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ivr.flow.placement import misplaced
from ivr.flow.problems import Path, Problem, name_of, place, suggest
from ivr.flow.schemawords import BOOLEAN_WORDS, EXPECTED, TYPE_WORDS
from ivr.flow.yamlload import Document

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

# The patterns here are for editors: the checks explain these values' mistakes in more detail.
_CHECKED_ELSEWHERE = frozenset({"weekly", "closed_on", "dial"})
_TARGETS = {"next", "fail", "if_no_answer", "start"}


@cache
def schema() -> dict[str, Any]:
    """The flow format's JSON Schema, as a dict."""
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


def schema_text() -> str:
    """The flow format's JSON Schema (draft 2020-12), as published for editors."""
    return resources.files("ivr.flow").joinpath("schema.json").read_text(encoding="utf-8")


@cache
def _parts() -> tuple[dict[str, Any], dict[str, Any]]:
    # The document with its states left out, and one state: the states are checked one by one,
    # so that a fast yes (below) for most states leaves jsonschema only the few that are wrong.
    whole = schema()
    states = dict(whole["properties"]["states"], additionalProperties=True)
    top = dict(whole, properties=dict(whole["properties"], states=states))
    state = dict(whole["$defs"]["state"], **{"$defs": whole["$defs"]})
    return top, state


@cache
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    # jsonschema is imported only to explain a mistake: flows without one (every flow a
    # server starts on) are passed by the fast tests alone.
    from jsonschema import Draft202012Validator

    top, state = _parts()
    return Draft202012Validator(top), Draft202012Validator(state)


Test = Callable[[Any], bool]
_PYTHON_TYPES: dict[str, Test] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}
_CLASSES: dict[str, type] = {
    "string": str,
    "object": dict,
    "array": list,
    "boolean": bool,
    "null": type(None),
}
_NOTES = {"description", "title", "$schema", "$defs", "then", "properties"}


def _fast(node: dict[str, Any], defs: dict[str, Any]) -> Test:
    """A yes/no test for the parts of JSON Schema the flow schema uses: far faster than
    jsonschema, which is asked only when this says no (to explain why)."""
    props = {key: _fast(sub, defs) for key, sub in node.get("properties", {}).items()}
    tests = [_keyword(k, v, node, props, defs) for k, v in node.items() if k not in _NOTES]
    if props and "additionalProperties" not in node:
        tests.append(
            lambda v: not isinstance(v, dict) or all(props[k](v[k]) for k in v if k in props)
        )
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda v: first(v) and second(v)
    return lambda v: all(test(v) for test in tests)


def _keyword(
    keyword: str, value: Any, node: dict[str, Any], props: dict[str, Test], defs: dict[str, Any]
) -> Test:
    if keyword == "$ref":
        return _fast(defs[value.removeprefix("#/$defs/")], defs)
    if keyword == "type":
        names = [value] if isinstance(value, str) else value
        if "integer" not in names and "number" not in names:  # the common case, made quick
            classes = tuple(_CLASSES[name] for name in names)
            return lambda v: isinstance(v, classes)
        kinds = [_PYTHON_TYPES[name] for name in names]
        return lambda v: any(kind(v) for kind in kinds)
    if keyword == "enum":
        return lambda v: any(v == x and type(v) is type(x) for x in value)
    if keyword == "pattern":
        pattern = re.compile(value)
        return lambda v: not isinstance(v, str) or pattern.search(v) is not None
    if keyword == "minimum":
        return lambda v: not _PYTHON_TYPES["number"](v) or v >= value
    if keyword in ("minProperties", "minItems"):
        # Each counts in its own kind only: a list under `minProperties` is not held to it.
        sized = dict if keyword == "minProperties" else list
        return lambda v: not isinstance(v, sized) or len(v) >= value
    if keyword == "required":
        return lambda v: not isinstance(v, dict) or all(k in v for k in value)
    if keyword == "dependentRequired":
        return lambda v: (
            not isinstance(v, dict) or all(r in v for k, rs in value.items() if k in v for r in rs)
        )
    if keyword == "dependentSchemas":
        subs = {key: _fast(sub, defs) for key, sub in value.items()}
        return lambda v: not isinstance(v, dict) or all(t(v) for k, t in subs.items() if k in v)
    if keyword == "oneOf":
        ones = [_fast(sub, defs) for sub in value]
        return lambda v: sum(one(v) for one in ones) == 1
    if keyword == "if":
        when, then = _fast(value, defs), _fast(node.get("then", {}), defs)
        return lambda v: not when(v) or then(v)
    if keyword in ("propertyNames", "items"):
        each, kind = _fast(value, defs), dict if keyword == "propertyNames" else list
        return lambda v: not isinstance(v, kind) or all(map(each, v))
    if keyword == "additionalProperties":
        extra: Test = (lambda v: value) if isinstance(value, bool) else _fast(value, defs)
        return lambda v: (
            not isinstance(v, dict)
            or all(props[k](x) if k in props else extra(x) for k, x in v.items())
        )
    raise ValueError(f"no fast test for `{keyword}`")


@cache
def _fast_state() -> Test:
    whole = schema()
    return _fast(whole["$defs"]["state"], whole["$defs"])


@cache
def _fast_top() -> Test:
    return _fast(_parts()[0], schema()["$defs"])


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "empty" if value is None else f"`{value}`"


def _unknown_keys(error: ValidationError, path: Path, doc: Document, file: str) -> list[Problem]:
    known = sorted(error.schema.get("properties", {}))
    problems = []
    for key in error.instance:
        if key in known:
            continue
        hint = misplaced(str(key), path, doc, schema()) or suggest(
            str(key), known, "the keys here are", limit=30
        )
        line, column = doc.key_at((*path, key))
        message = f"unknown key `{key}` {place(path)}: {hint}"
        problems.append(Problem(file, line, column, "error", message))
    return problems


def _expected(error: ValidationError, path: Path) -> str:
    key = path[-1] if path and isinstance(path[-1], str) else ""
    if key == "save" and error.validator == "pattern":
        return "a variable name of letters, digits and `_`, starting with a letter"
    if key in _TARGETS or (len(path) > 1 and path[-2] in ("choices", "shortcuts")):
        return "the name of a state"
    if key == "queue" and len(path) > 1 and path[-2] == "dial":
        return EXPECTED["name"]
    if key in EXPECTED:
        return EXPECTED[key]
    if len(path) > 1 and path[-2] in ("no_input", "no_match") and isinstance(path[-1], int):
        return "text, or a mapping of language to text"
    kind = error.validator_value if error.validator == "type" else "string"
    kinds = [kind] if isinstance(kind, str) else list(kind)
    return " or ".join(TYPE_WORDS.get(k, k) for k in kinds)


def _is_language(error: ValidationError) -> bool:
    return bool(error.validator_value == schema()["$defs"]["language_code"]["pattern"])


def _words(error: ValidationError, path: Path, doc: Document) -> str:
    value, rule, rule_value = error.instance, error.validator, error.validator_value
    written = isinstance(value, (int, float, bool))
    shown = f"`{doc.text(path, value)}`" if written else _shown(value)
    if rule == "required":
        missing = [key for key in rule_value if key not in value]
        if path == () and "states" in missing:
            return "the flow has no `states:`: add a `states:` mapping with at least one state"
        return f"`{missing[0]}` is missing {place(path)}"
    if rule in ("minProperties", "minItems"):
        if path == ("states",):
            return "the flow has no states: add at least one state under `states:`"
        return f"{name_of(path)} is empty"
    if rule == "oneOf" and path[-1:] == ("dial",) and not {"number", "queue"} & set(value):
        return f"`number` is missing {place(path)} (or `queue`, to take a caller on hold)"
    if rule == "oneOf" and all("required" in one for one in rule_value):
        keys = [f"`{one['required'][0]}`" for one in rule_value]
        return f"{name_of(path)} needs exactly one of {', '.join(keys[:-1])} or {keys[-1]}"
    if rule == "dependentRequired":
        needs = next(k for k, v in rule_value.items() if k in value and v[0] not in value)
        return f"`{needs}` {place(path)} needs `{rule_value[needs][0]}` too"
    if "propertyNames" in error.schema_path and _is_language(error):
        return f"`{value}` is not a language code {place(path)}: write one like en-US or es-MX"
    if "propertyNames" in error.schema_path:
        return (
            f"`{value}` can't be a variable name {place(path)}: use letters, digits and `_`, "
            "starting with a letter"
        )
    if rule == "minimum":
        return f"{name_of(path)} must be at least {rule_value} (not {shown})"
    if value is None and rule == "type" and isinstance(path[-1], str):
        return f"{name_of(path)} is empty: after `{path[-1]}:` write {_expected(error, path)}"
    message = f"{name_of(path)} must be {_expected(error, path)} (not {shown})"
    if rule in ("type", "enum") and isinstance(value, str) and value.lower() in BOOLEAN_WORDS:
        truth = BOOLEAN_WORDS[value.lower()]
        return f"{message}: write {truth} (`{value}` is a word in a flow, not {truth})"
    if rule == "type" and "string" in rule_value and isinstance(value, (int, float, bool)):
        message += f'; put it in quotes: "{shown.strip("`")}"'
    return message


def _problems(
    errors: list[ValidationError], prefix: Path, doc: Document, file: str
) -> list[Problem]:
    problems: list[Problem] = []
    for error in errors:
        path: Path = (*prefix, *error.absolute_path)
        if error.validator == "additionalProperties":
            problems += _unknown_keys(error, path, doc, file)
            continue
        if error.validator == "pattern" and _CHECKED_ELSEWHERE.intersection(path[2:]):
            continue  # the checks say what is wrong with hours and numbers in more detail
        if "propertyNames" in error.schema_path:
            line, column = doc.key_at((*path, error.instance))
        else:
            line, column = doc.at(path)
        problems.append(Problem(file, line, column, "error", _words(error, path, doc)))
    return problems


def validate(doc: Document, file: str) -> list[Problem]:
    """Every way the document breaks the schema, as error `Problem`s."""
    problems: list[Problem] = []
    if not _fast_top()(doc.data):
        top = _validators()[0]
        problems += _problems(list(top.iter_errors(doc.data)), (), doc, file)
    states = doc.data.get("states")
    fast = _fast_state()
    for name, body in states.items() if isinstance(states, dict) else ():
        if not fast(body):
            state = _validators()[1]
            problems += _problems(list(state.iter_errors(body)), ("states", name), doc, file)
    return problems
