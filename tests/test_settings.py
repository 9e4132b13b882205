"""Settings: built once from options and environment, checked when built, whole to workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.cli import build_parser, settings_from
from ivr.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def ivr(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    return subprocess.run(
        [sys.executable, "-m", "ivr.cli", *args],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["serve"], {"IVR_PORT": "abc"}, "IVR_PORT='abc'"),
        (["serve", "--store", "postgres://x"], {}, "--store='postgres://x'"),
        (["serve", "--store", "memory://", "--workers", "2"], {}, "--store='memory://'"),
        (["history"], {"IVR_STORE": "postgres://x"}, "IVR_STORE='postgres://x'"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(
    args: list[str], env: dict[str, str], names: str, tmp_path: Path
) -> None:
    done = ivr(*args, **env, IVR_INSECURE="1")
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {names}: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (Path.cwd() / "postgres:").exists()


def test_the_flows_folder_comes_the_same_way_to_every_command(tmp_path: Path) -> None:
    env = {"IVR_FLOWS": "from-env"}
    for command in (["serve"], ["check"], ["simulate", "f"], ["test"], ["graph", "f"],
                    ["call", "f"], ["text", "f"]):  # fmt: skip
        args = build_parser().parse_args(command)
        assert Settings.from_env(env, **_options(args)).flows_dir == "from-env", command
        args = build_parser().parse_args([*command, "--flows", "given"])
        assert Settings.from_env(env, **_options(args)).flows_dir == "given", command
    assert settings_from(build_parser().parse_args(["serve", "here"])).flows_dir == "here"


def _options(args: object) -> dict[str, object]:
    from ivr.settings import OPTIONS

    given = vars(args)
    return {name: given.get(name) for name in OPTIONS}


def test_values_from_the_environment_are_typed_and_checked() -> None:
    built = Settings.from_env(
        {"IVR_PORT": "9000", "IVR_WORKERS": "3", "IVR_INSECURE": "yes", "IVR_PUBLIC_URL": "h/"}
    )
    assert (built.port, built.workers, built.insecure, built.public_url) == (9000, 3, True, "h")
    with pytest.raises(SettingsError, match=r"IVR_WORKERS='0'"):
        Settings.from_env({"IVR_WORKERS": "0"})
    with pytest.raises(SettingsError, match=r"--port='70000'"):
        Settings.from_env({}, port=70000)
    with pytest.raises(SettingsError, match=r"IVR_STORE='memory://'.*2 workers"):
        Settings.from_env({"IVR_STORE": "memory://", "IVR_WORKERS": "2"})
    for url in ("sqlite:///x.db", "memory://", "redis://h:6379/0", "rediss://h"):
        assert Settings.from_env({"IVR_STORE": url}).store == url


def test_workers_get_the_settings_whole() -> None:
    settings = Settings(store="redis://h/1", workers=4, auth_token="t", api_base="http://b")
    assert Settings.from_json(settings.to_json()) == settings


def test_the_flow_recheck_interval_is_seconds_from_the_environment() -> None:
    assert Settings().flow_recheck == 1.0
    assert Settings.from_env({"IVR_FLOW_RECHECK": "0"}).flow_recheck == 0.0
    assert Settings.from_env({"IVR_FLOW_RECHECK": " 2.5 "}).flow_recheck == 2.5
    with pytest.raises(SettingsError, match=r"^IVR_FLOW_RECHECK='soon': give a number"):
        Settings.from_env({"IVR_FLOW_RECHECK": "soon"})
    with pytest.raises(SettingsError, match=r"^IVR_FLOW_RECHECK='-1(\.0)?': give 0 or more"):
        Settings.from_env({"IVR_FLOW_RECHECK": "-1"})


def test_retention_is_a_duration_with_a_unit() -> None:
    built = Settings.from_env({"IVR_KEEP_HISTORY": "12h"}, keep_messages="90s")
    assert (built.keep_history, built.keep_messages) == (12 * 3600, 90)
    assert Settings.from_env({}).keep_history == 30 * 24 * 3600
    assert Settings.from_env({}).keep_messages == 90 * 24 * 3600
    assert Settings.from_env({"IVR_KEEP_HISTORY": "1.5d"}).keep_history == 36 * 3600
    with pytest.raises(SettingsError, match=r"IVR_KEEP_HISTORY='30 days': give a duration"):
        Settings.from_env({"IVR_KEEP_HISTORY": "30 days"})
    with pytest.raises(SettingsError, match=r"--keep-messages='0d'"):
        Settings.from_env({}, keep_messages="0d")
    done = ivr("serve", "--keep-history", "soon", IVR_INSECURE="1")
    assert done.returncode == 2 and done.stderr.startswith("error: --keep-history='soon': ")
