"""Programs the tests need from the system's packages, installed on first use when missing.

On a fresh Debian or Ubuntu machine redis-server and Chromium are not there yet: the first test
that needs one installs it with apt-get (through `sudo -n` when not root), once per run, so that
the README's test command works on a new machine as it is.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path


class Missing(RuntimeError):
    """A program is not installed and could not be installed."""


@functools.cache
def installed(command: str, package: str, needed_by: str) -> str:
    """The path of `command`, installing Debian's `package` with apt-get first when missing."""
    found = shutil.which(command)
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise Missing(
            f"{command} is not installed and this machine has no apt-get: install it "
            f"(the {command} command) to run {needed_by}"
        )
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        try:
            done = subprocess.run(sudo + step, capture_output=True, text=True, env=env, timeout=900)
        except OSError as exc:  # no sudo on this machine
            done = subprocess.CompletedProcess(step, 1, "", str(exc))
        if done.returncode != 0:
            raise Missing(
                f"{command} is not installed, and `{' '.join(sudo + step)}` failed "
                f"({done.stderr.strip()[-300:]}): install it with "
                f"`sudo apt-get install {package}` to run {needed_by}"
            )
    found = shutil.which(command) or f"/usr/bin/{command}"
    if not Path(found).exists():
        raise Missing(f"apt-get installed {package}, but {command} is not on PATH")
    return found
