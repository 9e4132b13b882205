"""The Redis parts of the benchmark: a redis-server for the runs, and the retention run.

The retention run: `ivr serve --store redis://... --keep-history 30s`, many whole calls (each
answered, two presses, the status callback that ends it), then Redis's keys and memory are
read until they are back where they were before the calls.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

HOST = "127.0.0.1"
KEEP = "30s"


def start_redis(work: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server without persistence, for the runs; its process and URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is needed for the Redis runs: apt-get install redis-server"
        )
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://{HOST}:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            with redis.Redis.from_url(url) as client:
                client.ping()
            return proc, url
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)


def flush(url: str) -> None:
    with redis.Redis.from_url(url) as client:
        client.flushall()


def keys_and_memory(url: str) -> tuple[int, int]:
    with redis.Redis.from_url(url) as client:
        return int(client.dbsize()), int(client.info("memory")["used_memory"])


def calls_in_redis(url: str) -> dict[str, int]:
    """What Redis holds after a run: every call that got to the end is `completed`."""
    outcomes: dict[str, int] = {}
    with redis.Redis.from_url(url, decode_responses=True) as client:
        for key in client.scan_iter("ivr:conv:*", count=1000):
            data, live = client.hmget(key, ["data", "live"])
            session = json.loads(data or "{}")
            outcome = "live" if not session.get("ended") else session.get("outcome") or "?"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@dataclass
class RetentionResult:
    calls: int
    wrong: int
    keys_before: int
    memory_before: int
    keys_after_calls: int
    memory_after_calls: int
    keys_end: int = 0
    memory_end: int = 0
    seconds_to_baseline: float = -1.0  # -1: not back within the wait
    samples: list[tuple[float, int, int]] = field(default_factory=list)


def retention_run(
    url: str,
    port: int,
    calls: Sequence[Sequence[tuple[bytes, int]]],
    wait: float,
    keep_seconds: float,
    log: Callable[[str], None],
) -> RetentionResult:
    """Send `calls` to a server already running with `--keep-history`, then watch Redis."""
    keys0, memory0 = keys_and_memory(url)
    began = time.monotonic()
    from client import send_all  # it imports this module (through servers): not at the top

    wrong = asyncio.run(send_all(port, calls, 16))
    sent = time.monotonic() - began
    keys1, memory1 = keys_and_memory(url)
    log(f"retention: {len(calls):,} calls in {sent:.0f} s; keys {keys0} -> {keys1}")
    result = RetentionResult(len(calls), wrong, keys0, memory0, keys1, memory1)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(2)
        keys, memory = keys_and_memory(url)
        result.samples.append((time.monotonic() - began, keys, memory))
        if keys <= keys0 and result.seconds_to_baseline < 0:
            result.seconds_to_baseline = time.monotonic() - began - sent
            time.sleep(2)  # memory is given back as keys go: one more reading after the last
            break
    result.keys_end, result.memory_end = keys_and_memory(url)
    return result


def retention_lines(r: RetentionResult, keep: str) -> list[str]:
    back = (
        f"back to {r.keys_end} keys {r.seconds_to_baseline:.0f} s after the last call"
        if r.seconds_to_baseline >= 0
        else f"still {r.keys_end} keys at the end of the wait"
    )
    mib = 2**20
    return [
        "",
        f"Retention, `--keep-history {keep}`: {r.calls:,} whole calls ({r.wrong} unexpected "
        f"answers). Redis keys {r.keys_before} before, {r.keys_after_calls:,} after the calls, "
        f"{back}; Redis memory {r.memory_before / mib:.2f} MiB before, "
        f"{r.memory_after_calls / mib:.2f} MiB after the calls, {r.memory_end / mib:.2f} MiB "
        "at the end.",
    ]
