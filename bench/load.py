"""One load run: wrk replaying the calls against a server, and the CPU every process used
meanwhile, read from /proc."""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from calls import HOST
from servers import BENCH, Server

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> float:
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


@dataclass
class LoadResult:
    key: str
    label: str
    workers: int
    think_ms: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int  # socket errors, timeouts, wrong statuses, apologies
    wraps: int
    server_cpu: float  # cores the server used, on average
    wrk_cpu: float  # cores wrk used
    other_cpu: float  # cores anything else on the machine used
    redis_cpu: float = 0.0  # cores redis-server used (counted in server_cpu too)
    round: int = 1
    raw: dict[str, int] = field(default_factory=dict)

    @property
    def calls(self) -> float:
        return self.rps / 4


class CpuWatch:
    """CPU time of the server (and of its redis-server apart), of wrk and of the whole
    machine, between two readings."""

    def __init__(self, server: Sequence[int], redis: Sequence[int], load: int) -> None:
        self.pids = list(server)
        self.redis = list(redis)
        self.load = load
        self.readings: list[tuple[float, float, float, float, tuple[int, int]]] = []

    def read(self) -> None:
        self.readings.append(
            (
                time.monotonic(),
                cpu_seconds(self.pids),
                cpu_seconds(self.redis),
                cpu_seconds([self.load]),
                machine_busy(),
            )
        )

    def cores(self) -> tuple[float, float, float, float]:
        """(server with its Redis, the Redis alone, wrk, everything else), in cores used on
        average."""
        (t0, s0, r0, w0, m0), (t1, s1, r1, w1, m1) = self.readings[0], self.readings[-1]
        elapsed = t1 - t0
        busy = (m1[0] - m0[0]) / max(1, m1[1] - m0[1]) * (os.cpu_count() or 1)
        server, redis, load = (s1 - s0) / elapsed, (r1 - r0) / elapsed, (w1 - w0) / elapsed
        return server, redis, load, max(0.0, busy - server - load)


def wrk(
    server: Server, data: Path, connections: int, seconds: float, warmup: float, think: int
) -> tuple[dict[str, int], tuple[float, float, float, float]]:
    """Run wrk on `data`; its results after the warm-up, and the cores used meanwhile."""
    args = [
        "wrk",
        "-t",
        str(connections),
        "-c",
        str(connections),  # one connection per thread: see bench/calls.lua
        "-d",
        f"{math.ceil(warmup + seconds)}s",
        "--timeout",
        "5s",
        "-s",
        str(BENCH / "calls.lua"),
        f"http://{HOST}:{server.port}/",
        "--",
        str(data),
        f"{warmup:g}",
        str(think),
    ]
    env = {**os.environ, "BENCH_PORTS": ",".join(map(str, server.ports))}
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
        watch = CpuWatch(server.pids(), server.redis(), proc.pid)
        try:
            time.sleep(warmup)
            watch.read()
            time.sleep(max(0.5, seconds - 0.5))  # the last reading while wrk still runs
            watch.read()
            proc.wait(timeout=seconds + 60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.seek(0)
        text = out.read()
    for line in text.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, int] = json.loads(line[len("RESULT ") :])
            return parsed, watch.cores()
    raise RuntimeError(f"wrk failed:\n{text}")


def measure(
    server: Server, data: Path, connections: int, seconds: float, warmup: float, think: int
) -> LoadResult:
    r, cores = wrk(server, data, connections, seconds, warmup, think)
    server_cpu, redis_cpu, wrk_cpu, other_cpu = cores
    strict = server.spec.strict
    if not strict:  # the bare app answers 200 where the others answer 204
        r["unexpected"] = 0
    errors = r["socket_errors"] + r["timeouts"] + r["unexpected"] + r["apologies"]
    if strict:
        errors += r["non_2xx"]
    return LoadResult(
        key=server.spec.key,
        label=server.spec.label,
        workers=server.spec.workers * server.spec.hosts,
        think_ms=think,
        rps=r["requests"] / (r["window_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p90_ms=r["p90_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        max_ms=r["max_us"] / 1000,
        requests=r["requests"],
        errors=errors,
        wraps=r["wraps"],
        server_cpu=server_cpu,
        wrk_cpu=wrk_cpu,
        other_cpu=other_cpu,
        redis_cpu=redis_cpu,
        raw=r,
    )


def sqlite_calls(db: Path) -> dict[str, int]:
    """What the SQLite store holds after a run: every call that got to the end is `completed`."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT ended, data FROM sessions").fetchall()
    finally:
        conn.close()
    outcomes: dict[str, int] = {}
    for ended, data in rows:
        outcome = json.loads(data).get("outcome") if ended else "live"
        outcomes[outcome or "?"] = outcomes.get(outcome or "?", 0) + 1
    return outcomes
