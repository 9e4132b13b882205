"""`ivr test`: passing, failing and broken conversation tests, and the JUnit XML."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivr.tools.flowtests.suite import run_tests

CASES = Path(__file__).parent / "flowtests_cases"
FLOWS = CASES / "flows"
ROOT = Path(__file__).parent.parent


def run(capsys: pytest.CaptureFixture[str], *paths: Path, junit: str | None = None) -> str:
    code = run_tests([str(p) for p in paths], flows_dir=str(FLOWS), junit=junit)
    out = capsys.readouterr().out
    assert code == (0 if out.rstrip().endswith(" 0 failed") else 1)
    return out


def test_passing_tests_found_beside_the_flows(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys)  # no paths: every file in the flows folder's tests/
    assert "ok    a caller books a visit" in out
    assert "ok    after hours the caller leaves a message" in out
    assert out.rstrip().splitlines()[-1] == "5 passed, 0 failed"


def test_failures_name_the_step_and_what_came_instead(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = run(capsys, CASES / "failing" / "desk.yaml")
    file = CASES / "failing" / "desk.yaml"
    expected = [
        f'{file}:6: hear: expected to hear "Welcome to Acme"',
        'but heard "Thanks for contacting Acme Plumbing." "For opening hours, press 1.',
        f"{file}:10: state: expected state `booking`",
        "but the conversation is in state `main_menu`",
        f'{file}:15: var: expected zip = "123456"',
        'but zip = "12345"',
        f"{file}:18: dial: expected the call to wait for a dial",
        "but the call waits for keys or speech, not a dial",
        f"{file}:24: ended: expected the conversation to go on",
        "but the conversation ended in state `booked` (completed)",
    ]
    for line in expected:
        assert line in out
    assert "FAIL  hears the wrong greeting" in out and "ok    this one passes" in out
    assert out.rstrip().splitlines()[-1] == "1 passed, 5 failed"


def test_broken_test_files_are_reported_like_broken_flows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = CASES / "broken"
    out = run(capsys, broken)
    assert (
        f"{broken}/bad_yaml.yaml:6:7: error: this line is not a list item but the one above it is"
        in out
    )
    assert f"{broken}/mistakes.yaml:5:9: error: unknown step `pres`: did you mean `press`?" in out
    assert (
        f"{broken}/mistakes.yaml:6:16: error: `state`: flow `desk` has no state `main_mnu`:"
        " did you mean `main_menu`?"
    ) in out
    assert f"{broken}/mistakes.yaml:7:9: error: `text` is for SMS" in out
    assert f"{broken}/mistakes.yaml:8:15: error: `dial`: a dial ends answered" in out
    assert f"{broken}/unknown_flow.yaml:1:7: error: there is no flow `dsk`: did you mean" in out
    assert out.rstrip().splitlines()[-1] == "0 passed, 3 failed"


def test_a_flow_with_errors_is_shown_before_its_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = tmp_path / "flows"
    (flows / "tests").mkdir(parents=True)
    (flows / "bad.yaml").write_text("states:\n  a:\n    say: Hi\n    next: nowhere\n")
    (flows / "tests" / "bad.yaml").write_text(
        "flow: bad\ntests:\n  - name: t\n    steps:\n      - hear: Hi\n"
    )
    code = run_tests([], flows_dir=str(flows), junit=None)
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    flow_error = next(i for i, line in enumerate(lines) if line.startswith(f"{flows}/bad.yaml:4"))
    test_error = next(i for i, line in enumerate(lines) if "flow `bad` has errors" in line)
    assert flow_error < test_error
    assert lines[-1] == "0 passed, 1 failed"


def test_no_tests_is_a_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tests([str(tmp_path)], flows_dir=str(FLOWS), junit=None) == 1
    captured = capsys.readouterr()
    assert "no conversation tests" in captured.err
    assert captured.out.strip() == "0 passed, 0 failed"


def test_junit_xml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.xml"
    run(capsys, CASES / "failing", CASES / "broken" / "unknown_flow.yaml", junit=str(report))
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    failing, broken = root.findall("testsuite")
    assert (failing.get("tests"), failing.get("failures"), failing.get("errors")) == ("6", "5", "0")
    cases = failing.findall("testcase")
    assert [c.get("name") for c in cases][0] == "hears the wrong greeting"
    failure = cases[0].find("failure")
    assert failure is not None and "failing/desk.yaml:6: hear" in (failure.get("message") or "")
    assert cases[-1].find("failure") is None
    assert broken.get("errors") == "1"
    error = broken.find("testcase/error")
    assert error is not None and "there is no flow `dsk`" in (error.text or "")


def test_the_command_line(tmp_path: Path) -> None:
    report = tmp_path / "out.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ivr.cli",
            "test",
            str(CASES / "tests"),
            "--flows",
            str(FLOWS),
            "--junit",
            str(report),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("2 passed, 0 failed")
    assert "Traceback" not in done.stderr
    assert ET.parse(report).getroot().find("testsuite/testcase") is not None


def test_variables_are_for_calls_only(capsys: pytest.CaptureFixture[str]) -> None:
    mistakes = CASES / "broken" / "mistakes.yaml"
    out = run(capsys, mistakes)
    assert f"{mistakes}:11:11: error: `vars` preset a call the flow places" in out
    assert f"{mistakes}:11:23: error: `caller` is set for every conversation" in out


def test_the_example_flows_pass_their_conversation_tests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_tests([], flows_dir=str(ROOT / "flows"), junit=None)
    out = capsys.readouterr().out
    assert code == 0, out
    assert " 0 failed" in out.splitlines()[-1]


def test_hold_take_and_answered_by_are_checked_where_they_are_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.yaml").write_text(
        "flow: desk\n"
        "tests:\n"
        "  - name: wrong\n"
        "    answered_by: robot\n"
        "    steps:\n"
        "      - hold: soon\n"
        "      - take: yes\n"
    )
    out = run(capsys, tmp_path / "t.yaml")
    assert "t.yaml:4:18: error: `answered_by` is one of human, machine_start" in out
    assert "t.yaml:6:15: error: `hold`: write the seconds to wait on hold, like `hold: 60`" in out
    assert "t.yaml:7:15: error: `take`: write `take: true`" in out
    assert "there is no flow" not in out
