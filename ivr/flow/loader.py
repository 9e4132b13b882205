"""Loading flow files: strict YAML, the schema, the checks, then the immutable `Flow` model.

A flow loads only when nothing is wrong with it; warnings are reported but don't stop it.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ivr.flow import checks, placement, schema, yamlload, yamlscan
from ivr.flow.build import build
from ivr.flow.model import Flow
from ivr.flow.problems import Problem, has_errors, sort_problems

FLOW_NAME = re.compile(r"[a-z0-9_-]+")
TOO_BIG = "the file is over 1 MB: split it into several flows"


def _name_problem(name: str, file: str) -> list[Problem]:
    if FLOW_NAME.fullmatch(name):
        return []
    message = (
        f"`{name}` can't be a flow's name: name the file with lower-case letters, digits, - and _,"
        " like front_desk.yaml"
    )
    return [Problem(file, 1, 1, "error", message)]


@contextmanager
def _quiet_gc() -> Iterator[None]:
    # Building a big tree of fresh objects sets off the cyclic collector over and over, which
    # can cost more than the parse itself; nothing built while loading needs it.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(text: str, name: str, file: str, path: str) -> tuple[Flow | None, list[Problem]]:
    doc, problems = yamlload.parse(text, file)
    problems = _name_problem(name, file) + problems
    if doc is None:
        return None, problems
    problems += (
        schema.validate(doc, file) + checks.check(doc, file) + yamlscan.scan(doc, text, file)
    )
    problems = sort_problems(placement.dedented(doc, file, schema.schema(), problems))
    if has_errors(problems):
        return None, problems
    return build(doc, name=name, text=text, path=path), problems


def load_flow_text(text: str, *, name: str, path: str = "") -> tuple[Flow | None, list[Problem]]:
    """Load a flow from its text: the flow (None if anything is an error) and every problem."""
    # The YAML nodes and the document are freed as `_load` returns, before the cyclic collector
    # is back on: it then has only the flow to look over, not everything built on the way.
    with _quiet_gc():
        return _load(text, name, path or f"{name}.yaml", path)


def _decode(raw: bytes, file: str) -> tuple[str | None, list[Problem]]:
    """The text of a flow file's bytes: at most 1 MB of UTF-8."""
    if len(raw) > yamlload.MAX_BYTES:
        return None, [Problem(file, 1, 1, "error", TOO_BIG)]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        message = "the file is not UTF-8 text: save it as UTF-8 in your editor"
        return None, [Problem(file, line, column, "error", message)]


def load_flow(path: str | Path) -> tuple[Flow | None, list[Problem]]:
    """Load one flow file, named by its stem (`flows/support.yaml` is the flow `support`)."""
    file = Path(path)
    try:
        if file.stat().st_size > yamlload.MAX_BYTES:
            return None, [Problem(str(path), 1, 1, "error", TOO_BIG)]
        raw = file.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return None, [Problem(str(path), 1, 1, "error", f"can't read the file: {reason}")]
    text, problems = _decode(raw, str(path))
    if text is None:
        return None, _name_problem(file.stem, str(path)) + problems
    return load_flow_text(text, name=file.stem, path=str(path))


def load_flows(paths: Iterable[str | Path]) -> tuple[dict[str, Flow], list[Problem]]:
    """Load flow files and folders (a folder's `*.yaml` and `*.yml`, not its subfolders)."""
    flows: dict[str, Flow] = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    for given in paths:
        place = Path(given)
        try:
            if not place.exists():
                raise FileNotFoundError(0, "no such file or folder")
            found = place.iterdir() if place.is_dir() else [place]
            files = sorted(f for f in found if f == place or f.suffix in (".yaml", ".yml"))
        except OSError as error:
            reason = error.strerror or str(error)
            problems.append(Problem(str(given), 1, 1, "error", reason))
            continue
        for file in files:
            if file.stem in where:
                message = f"a flow named `{file.stem}` is already in {where[file.stem]}: rename one"
                problems.append(Problem(str(file), 1, 1, "error", message))
                continue
            where[file.stem] = str(file)
            flow, trouble = load_flow(file)
            problems += trouble
            if flow is not None:
                flows[flow.name] = flow
    return flows, sort_problems(problems)


def load_named(flows_dir: str, flow: str) -> tuple[dict[str, Flow] | None, list[Problem], str]:
    """The flows of `flows_dir` if the flow named `flow` is among them and loads.

    Also the problems of that flow's file (its warnings too: its author is looking at it now),
    and, when it is simply not there, why not in words ("" otherwise).
    """
    flows, problems = load_flows([flows_dir])
    mine = [p for p in problems if Path(p.file).stem == flow]
    if flow in flows:
        return flows, mine, ""
    if has_errors(mine):
        return None, mine, ""
    known = ", ".join(sorted(flows)) or "none"
    return None, mine, f"no flow named {flow!r} in {flows_dir} (flows: {known})"
