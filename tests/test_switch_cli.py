"""`ivr switch`: list, turn, read the changes, and refuse mistakes in words."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.store import open_store


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["switch", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_turn_list_and_read_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flows_dir: Path
) -> None:
    store = f"sqlite:///{tmp_path}/s.db"
    where = ["--store", store, "--flows", str(flows_dir)]
    assert run(capsys, *where)[1].startswith("No switch has been turned yet")
    code, out, _ = run(
        capsys, "closed_today", "on", "--until", "2099-12-24 08:00", "--flow", "front_desk", *where
    )
    assert code == 0 and "on until 2099-12-24 08:00 EST" in out
    [change] = open_store(store).switches().values()
    assert change.until == dt.datetime(2099, 12, 24, 13, 0, tzinfo=dt.UTC).timestamp()
    assert change.by.startswith("command")
    assert run(capsys, "closed_today", "off", *where)[0] == 0
    code, out, _ = run(capsys, "closed_today", *where)
    lines = out.splitlines()
    assert "off" in lines[0] and len(lines) == 3  # now, then both changes, newest first
    assert " off " in lines[1] + " " and " on until" in lines[2]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["bad.name", "on"], "not a switch name"),
        (["x", "on", "--until", "tomorrow", "--tz", "UTC"], "is not a time"),
        (["x", "on", "--until", "2001-01-01 08:00", "--tz", "UTC"], "already passed"),
        (["x", "on", "--until", "2099-01-01 08:00", "--tz", "Nowhere/Town"], "time zone"),
        (["x", "on", "--until", "2099-01-01 08:00"], "several time zones"),
    ],
)
def test_mistakes_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flows_dir: Path, args: list[str], words: str
) -> None:
    store = f"sqlite:///{tmp_path}/s.db"
    code, _, err = run(capsys, *args, "--store", store, "--flows", str(flows_dir))
    assert code == 2 and words in err
    assert open_store(store).switches() == {}
