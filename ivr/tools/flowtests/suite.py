"""`ivr test`: run the conversation tests written beside the flows, as CI would.

Test files are YAML (see `ivr.flowtests_spec` for their steps), by default every file in the
flows folder's `tests/`. Each test runs on the real app in-process; a failure names the step's
FILE:LINE, what it expected and what came instead. A broken test file is reported like a
broken flow, `FILE:LINE:COLUMN: error: ...`, and counts as a failure.
"""

from __future__ import annotations

import logging
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ivr.flow.loader import load_flows
from ivr.flow.model import Flow
from ivr.flow.problems import Problem, format_text
from ivr.tools.flowtests.run import Failure, run_case
from ivr.tools.flowtests.spec import Case, read_suite


@dataclass
class Outcome:
    case: Case
    failure: Failure | None
    seconds: float
    log: list[str] = field(default_factory=list)

    def report(self) -> str:
        """The failure as the lines printed under the test's name."""
        failure = self.failure
        if failure is None:
            return ""
        where = f"{self.case.file}:{failure.step.line if failure.step else self.case.line}"
        what = f"{failure.step.kind}: " if failure.step else ""
        lines = [f"{where}: {what}expected {failure.expected}", failure.got]
        return "\n".join(lines + [f"server log: {entry}" for entry in self.log])


@dataclass
class Suite:
    file: str
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _Collect(logging.Handler):
    # What the server logs during a test is shown with its failure, never as a traceback.
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname.lower()}: {record.getMessage()}")


@contextmanager
def _server_log() -> Iterator[_Collect]:
    handler = _Collect()
    logger = logging.getLogger("ivr")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def discover(paths: Sequence[str]) -> tuple[list[Path], list[Problem]]:
    """The test files under `paths` (a folder's `*.yaml` and `*.yml`, not its subfolders)."""
    files: list[Path] = []
    problems = []
    for given in paths:
        place = Path(given)
        if place.is_dir():
            files += sorted(f for f in place.iterdir() if f.suffix in (".yaml", ".yml"))
        elif place.is_file():
            files.append(place)
        else:
            problems.append(Problem(given, 1, 1, "error", "no such file or folder"))
    return files, problems


def _run_file(file: Path, flows: Mapping[str, Flow], flow_problems: list[Problem]) -> Suite:
    suite = Suite(str(file))
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeError) as exc:
        reason = "it is not UTF-8 text" if isinstance(exc, UnicodeError) else exc.strerror
        suite.problems = [Problem(suite.file, 1, 1, "error", f"can't read the file: {reason}")]
        return suite
    broken = {Path(p.file).stem: p.file for p in flow_problems if p.level == "error"}
    flow, cases, suite.problems = read_suite(text, suite.file, flows, broken)
    if flow in broken:  # what is wrong with the flow comes first
        suite.problems = [p for p in flow_problems if p.file == broken[flow]] + suite.problems
    with _server_log() as log:
        for case in cases:
            log.lines.clear()
            began = time.monotonic()
            try:
                failure = run_case(case, flows)
            except Exception as exc:  # a bug must fail its test, not stop the others
                failure = Failure(None, "the test to run", f"but it crashed: {exc!r}")
            suite.outcomes.append(Outcome(case, failure, time.monotonic() - began, log.lines[:]))
    return suite


def _print(suite: Suite) -> None:
    print(suite.file)
    if suite.problems:
        print(format_text(suite.problems))
    for outcome in suite.outcomes:
        print(f"  {'FAIL' if outcome.failure else 'ok  '}  {outcome.case.name}")
        if outcome.failure:
            print("\n".join(f"        {line}" for line in outcome.report().splitlines()))


def write_junit(suites: Sequence[Suite], path: str) -> None:
    """JUnit XML: a testsuite per file; a broken file is one testcase with an error."""
    root = ET.Element("testsuites", name="ivr test")
    for suite in suites:
        failed = sum(1 for o in suite.outcomes if o.failure)
        node = ET.SubElement(
            root,
            "testsuite",
            name=suite.file,
            tests=str(len(suite.outcomes) or 1),
            failures=str(failed),
            errors="1" if suite.problems else "0",
            time=f"{sum(o.seconds for o in suite.outcomes):.3f}",
        )
        if suite.problems:
            case = ET.SubElement(node, "testcase", classname=suite.file, name="(test file)")
            text = format_text(suite.problems)
            ET.SubElement(case, "error", message=text.splitlines()[0]).text = text
        for outcome in suite.outcomes:
            case = ET.SubElement(
                node,
                "testcase",
                classname=Path(suite.file).stem,
                name=outcome.case.name,
                file=suite.file,
                line=str(outcome.case.line),
                time=f"{outcome.seconds:.3f}",
            )
            if outcome.failure:
                report = outcome.report()
                message = " ".join(report.splitlines()[:2])
                ET.SubElement(case, "failure", message=message).text = report
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def run_tests(paths: Sequence[str], *, flows_dir: str, junit: str | None) -> int:
    """Run the conversation tests in `paths` (default: the flows folder's `tests/`)."""
    given = list(paths) or [str(Path(flows_dir) / "tests")]
    files, problems = discover(given)
    flows, flow_problems = load_flows([flows_dir])
    suites = [Suite(p.file, problems=[p]) for p in problems]
    for suite in suites:
        _print(suite)
    for file in files:  # each file is printed as soon as its tests have run
        suites.append(_run_file(file, flows, flow_problems))
        _print(suites[-1])
    passed = sum(1 for s in suites for o in s.outcomes if not o.failure)
    failed = sum(1 for s in suites for o in s.outcomes if o.failure)
    failed += sum(1 for s in suites if s.problems)
    if not files and not problems:
        print(f"no conversation tests in {', '.join(given)}", file=sys.stderr)
    written = True
    if junit:
        try:
            write_junit(suites, junit)
        except OSError as exc:
            print(f"error: can't write {junit}: {exc.strerror or exc}", file=sys.stderr)
            written = False
    print(f"{passed} passed, {failed} failed")
    return 0 if files and not failed and written else 1
