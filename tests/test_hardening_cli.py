"""The command line as an operator meets it: one clear line for each fault, never a traceback.

Each command is run as a process at least once; the other tests of the same command run its
entry point in the test's process, in a folder of their own and without IVR_ or TWILIO_ settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import twilio_rest_standin as rest
from conftest import ROOT, free_port

from ivr import __version__
from ivr.cli import main
from ivr.engine.session import Session
from ivr.store import open_store


def ivr(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    environ["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "ivr.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**environ, **(env or {})},
        timeout=60,
    )


Ran = subprocess.CompletedProcess[str]


@pytest.fixture
def ivr_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Ran]:
    """`ivr ARGS` through its entry point, in `tmp_path`, with only the settings `env` gives."""
    for name in list(os.environ):
        if name.startswith(("IVR_", "TWILIO_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, env: dict[str, str] | None = None) -> Ran:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["ivr", *args], code, out, err)

    return run


def test_version(tmp_path: Path) -> None:
    done = ivr("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, f"ivr {__version__}")


@pytest.mark.parametrize("command", ["history", "messages"])
def test_history_in_another_folder_creates_no_database(
    command: str, tmp_path: Path, ivr_here: Callable[..., Ran]
) -> None:
    done = ivr_here(command)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        f"error: there is no database at {tmp_path.resolve()}/ivr.sqlite3: run this in the "
        "folder `ivr serve` runs in, or give its store with --store or IVR_STORE\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_history_into_a_pipe_closed_early_ends_quietly(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ivr.sqlite3")
    for n in range(2000):  # far more than a pipe holds
        call = Session(key=f"CA{n}", flow="menu", version="v1", channel="voice", started=n + 1)
        store.update(call.key, lambda _, s=call: (s, None), 60)
    store.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        f"{sys.executable} -m ivr.cli history --last 2000 | head -1",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.stdout.count("\n") == 1
    assert done.stderr == ""


@pytest.mark.parametrize("command", ["history", "messages"])
def test_history_with_redis_down_is_one_line(command: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    done = ivr(command, "--store", f"redis://:secret@127.0.0.1:{port}/0", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: Redis at 127.0.0.1:{port} can't be reached")
    assert done.stderr.count("\n") == 1 and "secret" not in done.stderr


def test_serve_with_redis_down_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    done = ivr(
        "serve",
        str(ROOT / "tests" / "flows"),
        "--port",
        str(free_port()),
        "--store",
        f"redis://:secret@127.0.0.1:{port}/0",
        cwd=tmp_path,
        env={"TWILIO_AUTH_TOKEN": "x"},
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == (
        f"error: the store redis://:***@127.0.0.1:{port}/0 can't be used: Redis at "
        f"127.0.0.1:{port} can't be reached: Error 111 connecting to 127.0.0.1:{port}. "
        f"Connect call failed ('127.0.0.1', {port}).\n"
    )


def test_call_says_every_missing_setting_at_once(ivr_here: Callable[..., Ran]) -> None:
    done = ivr_here("call", "reminder", "--to", "+15551234567")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert all(line.startswith("error: ") for line in lines)
    said = "\n".join(lines)
    for missing in (
        "--from is required",
        "IVR_PUBLIC_URL is not set",
        "TWILIO_ACCOUNT_SID is not set",
        "no Twilio credentials",
    ):
        assert missing in said
    assert len(lines) == 4


def test_text_says_every_missing_setting_at_once(
    standin: rest.Standin, ivr_here: Callable[..., Ran]
) -> None:
    done = ivr_here("text", "reminder", env={"IVR_STORE": "memory://"})
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) == 5, done.stderr
    assert "give either --to NUMBER or --csv FILE" in lines[0]
    assert "memory store ends with this command" in done.stderr
    assert standin.requests == []


def test_the_start_banner_names_the_store_without_its_password() -> None:
    from ivr.settings import Settings
    from ivr.web.logs import banner

    settings = Settings(
        store="redis://:s3cret@redis.internal:6379/0", public_url="https://ivr.example.com"
    )
    lines = banner(settings, ["menu", "texting"])
    assert lines[0] == f"ivr {__version__}: 2 flows from flows (menu, texting)"
    assert "store redis://:***@redis.internal:6379/0;" in lines[1]
    assert "s3cret" not in "\n".join(lines)
    assert lines[2:] == [
        "flow menu: voice https://ivr.example.com/voice/menu, sms https://ivr.example.com/sms/menu",
        "flow texting: voice https://ivr.example.com/voice/texting, "
        "sms https://ivr.example.com/sms/texting",
    ]
