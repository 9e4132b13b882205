"""`ivr check`: report every problem of the flow files, as text or GitHub annotations."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ivr.flow.loader import load_flows, load_named
from ivr.flow.model import Flow
from ivr.flow.problems import format_github, format_text


def check(paths: Sequence[str], *, strict: bool = False, fmt: str = "text") -> int:
    """Exit code 1 on any error (or, with `strict`, any warning), else 0."""
    flows, problems = load_flows(paths)
    if problems:
        print(format_github(problems) if fmt == "github" else format_text(problems))
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    if fmt == "text":
        ready = f"{len(flows)} flow(s) ready" if flows else "no flow ready"
        print(f"{ready}; {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors or (strict and warnings) else 0


def load_one(flows_dir: str, flow: str) -> dict[str, Flow] | None:
    """The flows of `flows_dir` if `flow` is among them; else say why not and return None."""
    flows, problems, missing = load_named(flows_dir, flow)
    if problems:
        print(format_text(problems), file=sys.stderr)
    if missing:
        print(f"error: {missing}", file=sys.stderr)
    return flows
