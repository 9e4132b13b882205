"""`ivr check` as a command: exit codes, `--strict` and `--format github`, as CI runs it.

CI's own run (`--format github`) is a process here; the others run the command's entry point in
the test's process, for its exit code and what it prints.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.cli import main

HERE = Path(__file__).parent
WARNING_ONLY = HERE / "broken" / "unreachable_state.yaml"  # its one problem is a warning
ERROR = HERE / "broken" / "choice_unknown.yaml"


Check = Callable[..., subprocess.CompletedProcess[str]]


def ivr_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ivr.cli", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def check_here(capsys: pytest.CaptureFixture[str]) -> Check:
    """`ivr check ARGS` through the command's entry point: its exit code, stdout and stderr."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        code = main(["check", *args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["ivr", "check", *args], code, out, err)

    return run


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    """Three folders of flows: clean, one with a warning only, one with an error too."""
    made = {}
    for name, extra in (("clean", None), ("warned", WARNING_ONLY), ("broken", ERROR)):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(HERE.parent / "flows" / "front_desk.yaml", folder)
        if extra is not None:
            shutil.copy(extra, folder)
        made[name] = folder
    shutil.copy(WARNING_ONLY, made["broken"])
    return made


def test_exit_codes_with_and_without_strict(folders: dict[str, Path], check_here: Check) -> None:
    codes = {
        (name, strict): check_here(str(folders[name]), *(["--strict"] if strict else [])).returncode
        for name, strict in (
            ("clean", True),
            ("warned", False),
            ("warned", True),
            ("broken", False),
        )
    }
    assert codes == {
        ("clean", True): 0,
        ("warned", False): 0,  # warnings alone don't fail...
        ("warned", True): 1,  # ...unless --strict
        ("broken", False): 1,
    }


def test_text_names_file_line_and_level_and_counts(
    folders: dict[str, Path], check_here: Check
) -> None:
    done = check_here(str(folders["broken"]))
    broken = folders["broken"] / "choice_unknown.yaml"
    assert f"{broken}:6:" in done.stdout and "error: the choice `2, book`" in done.stdout
    assert "did you mean `booking`?" in done.stdout
    assert "unreachable_state.yaml:" in done.stdout and ": warning: " in done.stdout
    assert "2 flow(s) ready; 1 error(s), 1 warning(s)" in done.stderr
    assert "Traceback" not in done.stderr


def test_format_github_is_one_annotation_per_problem(folders: dict[str, Path]) -> None:
    done = ivr_check(str(folders["broken"]), "--format", "github")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    error = folders["broken"] / "choice_unknown.yaml"
    assert f"::error file={error},line=6,col=" in done.stdout
    assert any(line.startswith("::warning file=") for line in lines)
    assert all(line.startswith(("::error ", "::warning ")) for line in lines)
    assert done.stderr == ""  # the summary line is for people, not for annotations
    clean = ivr_check(str(folders["clean"]), "--format", "github", "--strict")
    assert (clean.returncode, clean.stdout) == (0, "")


def test_a_missing_path_is_an_error_not_a_traceback(tmp_path: Path, check_here: Check) -> None:
    done = check_here(str(tmp_path / "nowhere"))
    assert done.returncode == 1
    assert "nowhere" in done.stdout + done.stderr and "Traceback" not in done.stderr
