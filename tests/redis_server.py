"""A real redis-server on a free port, for the tests that need one.

On a fresh Debian or Ubuntu machine redis-server is not there yet: the first test that needs it
installs it with apt-get (through `sudo -n` when not root), once per run, so that the README's
test command works on a new machine as it is.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
from conftest import free_port
from system_packages import installed


def redis_binary() -> str:
    """The path of redis-server, installing it with apt-get first when it is missing."""
    return installed("redis-server", "redis-server", "the Redis store's tests")


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
