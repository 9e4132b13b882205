"""A real redis-server on a free port, for the tests that need one.

On a fresh Debian or Ubuntu machine redis-server is not there yet: the first test that needs it
installs it with apt-get (through `sudo -n` when not root), once per run, so that the README's
test command works on a new machine as it is.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from pathlib import Path

import redis
from conftest import free_port

INSTALL = [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]]


class RedisMissing(RuntimeError):
    """redis-server is not installed and could not be installed."""


@functools.cache
def redis_binary() -> str:
    """The path of redis-server, installing it with apt-get first when it is missing."""
    found = shutil.which("redis-server")
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise RedisMissing(
            "redis-server is not installed and this machine has no apt-get: install Redis "
            "(the redis-server command) to run the Redis store's tests"
        )
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in INSTALL:
        try:
            done = subprocess.run(
                sudo + command, capture_output=True, text=True, env=env, timeout=600
            )
        except OSError as exc:  # no sudo on this machine
            done = subprocess.CompletedProcess(command, 1, "", str(exc))
        if done.returncode != 0:
            raise RedisMissing(
                f"redis-server is not installed, and `{' '.join(sudo + command)}` failed "
                f"({done.stderr.strip()[-300:]}): install it with "
                "`sudo apt-get install redis-server` to run the Redis store's tests"
            )
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).exists():
        raise RedisMissing("apt-get installed redis-server, but the command is not on PATH")
    return found


def start_redis(
    folder: Path, *extra: str, port: int = 0, password: str = ""
) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server in `folder` (with `extra` options); its process and URL.

    With `--appendonly yes` among `extra` it keeps its data in `folder` across a restart on
    the same `port`, like a Redis server run for production.
    """
    binary = redis_binary()
    port = port or free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)]
    if password:
        options += ["--requirepass", password]
    if "--appendonly" not in extra:
        options += ["--appendonly", "no"]
    proc = subprocess.Popen(
        [binary, *options, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"redis://{':' + password + '@' if password else ''}127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
        finally:
            client.close()
    return proc, url


def stop_redis(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)
