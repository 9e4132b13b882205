"""What the engine costs per webhook, next to the web stack it runs on, in one run.

    python bench/run.py            # about seven minutes; --quick for a shorter, rougher run

Four servers, one uvicorn worker each, on 127.0.0.1: (a) bare Starlette answering a constant
TwiML menu, (b) a menu written the way Twilio's tutorials teach (bench/apps.py), (c) `ivr serve`
on bench/flows/bench_menu.yaml with signatures checked and the SQLite store, (d) the same on the
memory store; then (c) again with 2 and 4 workers; (r) on the Redis store, and (r2) two `ivr
serve` processes on two ports sharing one Redis, wrk's connections split between them (a
redis-server is started for these). Each takes the same load: many calls at once,
each a fresh CallSid making four signed webhooks in order (answer, press, press, status
callback), replayed by wrk from precomputed files (bench/calls.lua says how), first as fast as
the server answers, then paced, each call waiting a while between webhooks as a caller would.
Every run starts a fresh server with an empty store; each is run `--rounds` times, interleaved,
and the best counts, since on a shared machine other work only ever slows a run down. After
that: the memory of 10,000 live calls, the time to load and check flows of 100 to 10,000
states, and with (r), the retention run (bench/redis_bench.py): whole calls on a server keeping
30 s of history, then Redis's keys and memory until they are back where they started.

The report is printed and written to bench/results/ (Markdown and JSON). Only 127.0.0.1 is
ever contacted; every server and load is bounded in time and stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import redis_bench
from twilio.request_validator import RequestValidator

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOKEN = "bench-auth-token-0123456789abcdef"
FLOW = "bench_menu"
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# How many requests a second the data files are sized for: above what a stateful server
# reaches here, with room to spare. A stateless server that goes faster replays its files
# again (counted as wraps), which is harmless there: it keeps nothing per call.
POOL_RATE = 12_000
LIVE_CALLS = 10_000

# -- the calls ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    path: str
    form: dict[str, str]
    status: int  # what a correct server answers


def call_form(sid: str, n: int) -> dict[str, str]:
    """What Twilio posts for a call: the same fields, so the same parsing work."""
    caller = f"+1555{n % 10_000_000:07d}"
    ours = "+15559990000"
    place = {"City": "SPRINGFIELD", "State": "IL", "Zip": "62701", "Country": "US"}
    form = {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": caller,
        "Caller": caller,
        "To": ours,
        "Called": ours,
        "CallToken": "%7B%22parentCallInfoToken%22%3A%22" + uuid.uuid4().hex,
    }
    for who in ("From", "Caller", "To", "Called"):
        for key, value in place.items():
            form[who + key] = value
    return form


def digits(n: int) -> tuple[str, str]:
    """The two keys call `n` presses: every department and topic gets its share."""
    return "123"[n % 3], "12"[(n // 3) % 2]


DEPARTMENTS = {"1": "sales", "2": "support", "3": "billing"}


def call(style: str, sid: str, n: int) -> list[Webhook]:
    """The four webhooks of one call: answer, press, press, status callback."""
    first, second = digits(n)
    form = call_form(sid, n)
    gather = {"msg": "Gather End", "FinishedOnKey": ""}
    done = {**form, "CallStatus": "completed", "CallDuration": "21", "Duration": "1"}
    done.update({"CallbackSource": "call-progress-events", "SequenceNumber": "0"})
    if style == "ivr":
        paths = [
            f"/voice/{FLOW}",
            f"/voice/{FLOW}/gather?seq=1",
            f"/voice/{FLOW}/gather?seq=2",
            f"/voice/{FLOW}/status",
        ]
    else:  # the hand-written app's routes
        paths = ["/ivr/welcome", "/ivr/menu", f"/ivr/menu/{DEPARTMENTS[first]}", "/ivr/status"]
    return [
        Webhook(paths[0], form, 200),
        Webhook(paths[1], {**form, **gather, "Digits": first}, 200),
        Webhook(paths[2], {**form, **gather, "Digits": second}, 200),
        Webhook(paths[3], done, 204),
    ]


def raw_request(port: int, hook: Webhook, validator: RequestValidator) -> bytes:
    """The request as Twilio sends it, signed for the exact URL it is sent to."""
    url = f"http://{HOST}:{port}{hook.path}"
    body = urlencode(hook.form).encode()
    head = (
        f"POST {hook.path} HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        "User-Agent: TwilioProxy/1.1\r\n"
        "Accept: */*\r\n"
        "Cache-Control: max-age=259200\r\n"
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        f"I-Twilio-Idempotency-Token: {uuid.uuid4()}\r\n"
        f"X-Twilio-Signature: {validator.compute_signature(url, hook.form)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass(frozen=True)
class Slice:
    """One wrk thread's file: calls `first`, `first + step`, ... of a data set."""

    path: Path
    style: str
    port: int
    prefix: str
    first: int
    step: int
    calls: int


def sid_of(prefix: str, n: int) -> str:
    return f"CA{prefix}{n:0{32 - len(prefix)}x}"


def write_slice(s: Slice) -> int:
    validator = RequestValidator(TOKEN)
    with s.path.open("wb") as out:
        for k in range(s.calls):
            n = s.first + k * s.step
            for hook in call(s.style, sid_of(s.prefix, n), n):
                raw = raw_request(s.port, hook, validator)
                out.write(f"{len(raw)} {hook.status}\n".encode() + raw)
    return s.calls


def write_dataset(
    folder: Path, style: str, port: int, prefix: str, calls: int, threads: int
) -> Path:
    """`calls` calls split over `threads` files, one per wrk thread, in parallel."""
    folder.mkdir(parents=True)
    per_thread = math.ceil(calls / threads)
    slices = [
        Slice(folder / f"{t}.req", style, port, prefix, t, threads, per_thread)
        for t in range(threads)
    ]
    with multiprocessing.Pool(os.cpu_count() or 1) as pool:
        pool.map(write_slice, slices)
    return folder


# -- servers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSpec:
    key: str
    label: str
    style: str  # which routes: "ivr" or "tutorial"
    app: str = ""  # bench/apps.py object for the two comparison apps
    store: str = ""  # "sqlite", "memory" or "redis" for `ivr serve`
    workers: int = 1
    hosts: int = 1  # `ivr serve` processes on one store, each on its own port
    keep: str = ""  # --keep-history
    strict: bool = True  # False: any 2xx is right (the bare app answers everything the same)


SERVERS = [
    ServerSpec("a", "bare Starlette, constant TwiML", "ivr", app="bare", strict=False),
    ServerSpec("b", "hand-written Twilio app", "tutorial", app="handwritten"),
    ServerSpec("c", "ivr serve, SQLite store", "ivr", store="sqlite"),
    ServerSpec("d", "ivr serve, memory store", "ivr", store="memory"),
    ServerSpec("c2", "ivr serve, SQLite store, 2 workers", "ivr", store="sqlite", workers=2),
    ServerSpec("c4", "ivr serve, SQLite store, 4 workers", "ivr", store="sqlite", workers=4),
    ServerSpec("r", "ivr serve, Redis store", "ivr", store="redis"),
    ServerSpec("r2", "two ivr serve processes, one Redis", "ivr", store="redis", hosts=2),
]
RETENTION = ServerSpec("rk", "ivr serve, Redis store, 30 s history", "ivr", store="redis",
                       keep=redis_bench.KEEP)  # fmt: skip
# The redis-server of the Redis runs, started by `main` when one is asked for.
REDIS: dict[str, object] = {}


@dataclass
class Server:
    spec: ServerSpec
    proc: subprocess.Popen[bytes]
    port: int
    db: Path | None
    log: Path
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)  # more hosts
    ports: list[int] = field(default_factory=list)  # every host's port, when more than one

    def pids(self) -> list[int]:
        """The server's processes, every host's, and the Redis it uses."""
        return [p for proc in (self.proc, *self.others) for p in tree(proc.pid)] + self.redis()

    def redis(self) -> list[int]:
        """The redis-server this server uses, if any."""
        redis_proc = REDIS.get("proc") if self.spec.store == "redis" else None
        return [redis_proc.pid] if isinstance(redis_proc, subprocess.Popen) else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def command(spec: ServerSpec, port: int, db: Path | None) -> list[str]:
    if spec.app:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            f"apps:{spec.app}",
            "--app-dir",
            str(BENCH),
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    store = f"sqlite:///{db}" if db else "memory://"
    if spec.store == "redis":
        store = str(REDIS["url"])
    keep = ["--keep-history", spec.keep] if spec.keep else []
    return [
        sys.executable,
        "-m",
        "ivr.cli",
        "serve",
        str(BENCH / "flows"),
        "--host",
        HOST,
        "--port",
        str(port),
        "--store",
        store,
        "--workers",
        str(spec.workers),
        *keep,
    ]


@contextmanager
def running(spec: ServerSpec, port: int, work: Path) -> Iterator[Server]:
    db = work / f"{spec.key}.sqlite3" if spec.store == "sqlite" else None
    log = work / f"{spec.key}.log"
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    if spec.store == "redis":
        redis_bench.flush(str(REDIS["url"]))  # every run starts on an empty store
    ports = [port] + [free_port() for _ in range(spec.hosts - 1)]
    procs = []
    with log.open("wb") as out:
        for each in ports:
            procs.append(
                subprocess.Popen(
                    command(spec, each, db),
                    cwd=work,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its workers go with it when it is stopped
                )
            )
    server = Server(spec, procs[0], port, db, log, procs[1:], ports if spec.hosts > 1 else [])
    try:
        for each, proc in zip(ports, procs, strict=True):
            wait_listening(Server(spec, proc, each, db, log))
        yield server
    finally:
        for proc in procs:
            stop(proc)


def wait_listening(server: Server, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.spec.label} exited:\n{server.log.read_text()}")
        try:
            with socket.create_connection((HOST, server.port), timeout=1):
                pass
            if server.spec.workers > 1:
                time.sleep(2)  # the port answers once the first worker is up: wait for all
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.spec.label} did not start:\n{server.log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def tree(pid: int) -> list[int]:
    """`pid` and every process below it (the workers of a multi-worker server)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


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


# -- a small client for checks and for opening calls ------------------------------------------


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, str]:
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body.decode()


async def send_all(
    port: int, groups: Sequence[Sequence[tuple[bytes, int]]], connections: int
) -> int:
    """Send groups of requests over keep-alive connections, each group in order on one (a
    call's webhooks); the number of unexpected answers."""
    queue = list(reversed(groups))
    wrong = 0

    async def worker() -> None:
        nonlocal wrong
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while queue:
                for raw, expected in queue.pop():
                    status, body = await exchange(reader, writer, raw)
                    wrong += status != expected or "Sorry" in body
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(connections))), 300)
    return wrong


async def smoke(server: Server) -> None:
    """One call, checked step by step: the routes the data files use are the ones served."""
    validator = RequestValidator(TOKEN)
    hooks = call(server.spec.style, sid_of("5e", 1), 1)
    reader, writer = await asyncio.open_connection(HOST, server.port)
    try:
        forged = raw_request(server.port, hooks[0], RequestValidator("not-the-token"))
        status, _ = await exchange(reader, writer, forged)
        if server.spec.app != "bare" and status != 403:
            raise RuntimeError(f"{server.spec.label}: a forged signature got {status}, not 403")
        for i, hook in enumerate(hooks):
            status, body = await exchange(reader, writer, raw_request(server.port, hook, validator))
            ok = status == hook.status or (not server.spec.strict and 200 <= status < 300)
            if not ok or "Sorry" in body:
                raise RuntimeError(f"{server.spec.label}: {hook.path} got {status}: {body}")
            if server.spec.strict and i < 2:
                action = f'action="{hooks[i + 1].path}"'
                if action not in body:
                    raise RuntimeError(f"{server.spec.label}: expected {action} in {body}")
            if server.spec.strict and i == 2 and "<Hangup" not in body:
                raise RuntimeError(f"{server.spec.label}: the call should end: {body}")
    finally:
        writer.close()


# -- load -----------------------------------------------------------------------------------


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


# -- memory of live calls ---------------------------------------------------------------------


@dataclass
class MemoryResult:
    store: str
    rss_before: int
    rss_after: int
    calls: int
    wrong: int
    file_bytes: int = 0

    @property
    def per_call(self) -> float:
        return (self.rss_after - self.rss_before) / self.calls


def live_calls(spec: ServerSpec, port: int, work: Path, calls: int) -> MemoryResult:
    """RSS of a server before and after `calls` calls answered and left waiting in the menu."""
    validator = RequestValidator(TOKEN)

    def answers(prefix: str, count: int) -> list[list[tuple[bytes, int]]]:
        return [
            [(raw_request(port, call("ivr", sid_of(prefix, n), n)[0], validator), 200)]
            for n in range(count)
        ]

    warm, load = answers("3a", 200), answers("4b", calls)
    with running(spec, port, work) as server:
        asyncio.run(send_all(port, warm, 8))
        time.sleep(0.5)
        before = rss_bytes(tree(server.proc.pid))
        wrong = asyncio.run(send_all(port, load, 8))
        time.sleep(0.5)
        after = rss_bytes(tree(server.proc.pid))
        size = 0
        if server.db:
            size = sum(p.stat().st_size for p in work.glob(server.db.name + "*"))
    return MemoryResult(spec.store, before, after, calls, wrong, size)


# -- checking big flows -------------------------------------------------------------------------


@dataclass
class CheckResult:
    states: int
    kib: float
    median_s: float
    best_s: float
    clean: bool


def flow_checks(rounds: int) -> list[CheckResult]:
    """Load and check generated flows, with the generator of bench/bench_check.py."""
    sys.path.insert(0, str(BENCH))
    import bench_check

    from ivr.flow.loader import load_flow_text

    results = []
    for count in bench_check.SIZES:
        text = bench_check.generate(count)
        times, clean = [], True
        for _ in range(rounds):
            began = time.perf_counter()
            flow, problems = load_flow_text(text, name="bench")
            times.append(time.perf_counter() - began)
            clean = clean and flow is not None and not problems
        kib = len(text.encode()) / 1024
        results.append(CheckResult(count, kib, statistics.median(times), min(times), clean))
    return results


# -- the report ---------------------------------------------------------------------------------


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def versions() -> str:
    from importlib.metadata import version

    names = ("starlette", "uvicorn", "twilio", "uvloop", "httptools")
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except Exception:
            continue
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (wrk_version.stdout or wrk_version.stderr).split("Copyright")[0].strip()
    return f"Python {platform.python_version()}, " + ", ".join(found) + f", {first}"


def target_lines(
    loads: dict[str, LoadResult], paced: dict[str, LoadResult], checks: list[CheckResult]
) -> list[str]:
    lines = []

    def rps(key: str) -> float | None:
        return loads[key].rps if key in loads else None

    a, b, c = rps("a"), rps("b"), rps("c")
    if b and c:
        lines.append(f"- c at least b: c/b = {c / b:.2f} ({'met' if c >= b else 'not met'})")
    if a and c:
        met = "met" if c / a >= 0.5 else "not met"
        lines.append(f"- c/a at least 0.5: c/a = {c / a:.2f} ({met})")
    r, r2 = rps("r"), rps("r2")
    if a and r:
        met = "met" if r / a >= 0.35 else "not met"
        lines.append(f"- r/a at least 0.35: r/a = {r / a:.2f} ({met})")
    if r and r2:
        met = "met" if r2 / r >= 1.6 else "not met"
        lines.append(f"- r2/r at least 1.6: r2/r = {r2 / r:.2f} ({met})")
    for where, key in (("at full load", "c"), ("paced", "c"), ("paced", "r"), ("paced", "r2")):
        found = (loads if where == "at full load" else paced).get(key)
        if found:
            met = "met" if found.p99_ms < 20 else "not met"
            lines.append(f"- p99 under 20 ms, ({key}), {where}: {found.p99_ms:.1f} ms ({met})")
    big = [x for x in checks if x.states == 10_000]
    if big:
        met = "met" if big[0].median_s < 1 else "not met"
        lines.append(f"- 10,000-state flow checked under a second: {big[0].median_s:.2f} s ({met})")
    return lines


def round_ratios(every: Sequence[LoadResult], x: str, y: str) -> list[float]:
    """x/y of requests/s within each round, both as fast as the server answers."""
    full = {(r.key, r.round): r.rps for r in every if not r.think_ms}
    rounds = sorted({n for _, n in full})
    return [full[x, n] / full[y, n] for n in rounds if (x, n) in full and (y, n) in full]


def report(
    loads: dict[str, LoadResult],
    paced: dict[str, LoadResult],
    memory: list[MemoryResult],
    checks: list[CheckResult],
    args: argparse.Namespace,
    stores: dict[str, dict[str, int]],
    extra: list[str],
    every: Sequence[LoadResult] = (),
) -> str:
    out = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({cpu_model()}), "
        f"{versions()}.",
        f"{args.connections} calls at a time, each answer, press, press, status callback; "
        f"{args.seconds:g} s measured per run after {args.warmup:g} s of warm-up; "
        f"best of {args.rounds} round(s).",
        "",
        "As fast as the server answers:",
        "",
        "| server | workers | requests/s | calls/s | p50 ms | p90 ms | p99 ms | errors "
        "| server CPU | µs CPU per webhook | wrk CPU | other CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in loads.values():
        out.append(
            f"| ({r.key}) {r.label} | {r.workers} | {r.rps:,.0f} | {r.calls:,.0f} "
            f"| {r.p50_ms:.1f} | {r.p90_ms:.1f} | {r.p99_ms:.1f} | {r.errors} "
            f"| {r.server_cpu:.2f} | {r.server_cpu / r.rps * 1e6:,.0f} | {r.wrk_cpu:.2f} "
            f"| {r.other_cpu:.2f} |"
        )
    out.append("")

    def ratio(x: str, y: str) -> str:
        if x in loads and y in loads:
            return f"{loads[x].rps / loads[y].rps:.2f}"
        return "n/a"

    out.append(
        f"Ratios of requests/s: c/a {ratio('c', 'a')}, c/b {ratio('c', 'b')}, "
        f"d/a {ratio('d', 'a')}, c2/c {ratio('c2', 'c')}, c4/c {ratio('c4', 'c')}, "
        f"**r/a {ratio('r', 'a')}**, **r2/r {ratio('r2', 'r')}**."
    )
    if "r" in loads or "r2" in loads:
        shares = ", ".join(
            f"{loads[k].redis_cpu:.2f} of the {loads[k].server_cpu:.2f} cores of ({k})"
            for k in ("r", "r2")
            if k in loads
        )
        out.append(
            f"The server CPU of (r) and (r2) counts redis-server's too ({shares}); (r2) is two "
            "`ivr serve` processes of one worker each, on two ports, wrk's connections split "
            "between them as a round-robin load balancer would."
        )
        pairs = round_ratios(every, "r2", "r")
        if pairs:
            out.append(
                "r2/r of the two runs of each round, next to each other in time: "
                + ", ".join(f"{x:.2f}" for x in pairs)
                + f" (median {statistics.median(pairs):.2f})."
            )
    per_webhook = {k: r.server_cpu / r.rps * 1e6 for k, r in loads.items()}
    if "a" in per_webhook and "r" in per_webhook:
        out.append(
            f"By CPU per webhook, which other work on the machine disturbs much less than "
            f"requests/s: a/r {per_webhook['a'] / per_webhook['r']:.2f} (what r/a would be if "
            "each server had a core to itself)."
        )
    if "a" in loads:
        busiest = max(loads.values(), key=lambda r: r.wrk_cpu)
        starved = [r for r in loads.values() if r.server_cpu / r.workers < 0.9]
        out.append(
            f"The load generator is not the limit: the same script drives (a) to "
            f"{loads['a'].rps:,.0f} requests/s, and wrk used at most {busiest.wrk_cpu:.2f} "
            f"of {os.cpu_count()} cores (against ({busiest.key}))."
        )
        if starved:
            most = max(r.other_cpu for r in loads.values())
            out.append(
                "The machine was the limit: "
                + ", ".join(f"({r.key}) got {r.server_cpu:.2f} cores" for r in starved)
                + f", where a server that is the bottleneck takes one per process; other work "
                f"used up to {most:.2f} of the {os.cpu_count()} cores during the runs."
            )
    if paced:
        out += [
            "",
            f"Paced: each call waits {args.think} ms on average (half to one and a half times "
            "that) after every reply before its next webhook:",
            "",
            "| server | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in paced.values():
            out.append(
                f"| ({r.key}) {r.label} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} "
                f"| {r.p99_ms:.1f} | {r.max_ms:.1f} | {r.errors} | {r.server_cpu:.2f} |"
            )
    wraps = {k: r.wraps for k, r in {**loads, **paced}.items() if r.wraps}
    if wraps:
        out.append(f"\nFiles replayed again (harmless for stateless servers): {wraps}.")
    for key, outcomes in stores.items():
        out.append(f"\nCalls in the store after ({key}): {outcomes}.")
    out += extra
    if memory:
        out += [
            "",
            "| live calls | store | RSS before | RSS after | per call | file |",
            "|---:|---|---:|---:|---:|---:|",
        ]
    for m in memory:
        file = f"{m.file_bytes / 2**20:.1f} MiB" if m.file_bytes else "-"
        out.append(
            f"| {m.calls:,} | {m.store} | {m.rss_before / 2**20:.1f} MiB "
            f"| {m.rss_after / 2**20:.1f} MiB | {m.per_call / 1024:.2f} KiB | {file} |"
        )
        if m.wrong:
            out.append(f"({m.wrong} of those calls got an unexpected answer)")
    if checks:
        out += [
            "",
            "| flow states | size | load and check, median | best | clean |",
            "|---:|---:|---:|---:|---|",
        ]
    for c in checks:
        out.append(
            f"| {c.states:,} | {c.kib:,.0f} KiB | {c.median_s * 1000:,.0f} ms "
            f"| {c.best_s * 1000:,.0f} ms | {'yes' if c.clean else 'NO'} |"
        )
    out += ["", "Targets:", "", *target_lines(loads, paced, checks)]
    return "\n".join(out) + "\n"


def run_all(
    args: argparse.Namespace,
    specs: list[ServerSpec],
    runs: list[tuple[ServerSpec, int]],
    port: int,
    work: Path,
    loads: dict[str, LoadResult],
    paced: dict[str, LoadResult],
    every: list[LoadResult],
    stores: dict[str, dict[str, int]],
) -> list[str]:
    """Every load run, `--rounds` times, interleaved; then the retention run, if asked."""
    began = time.monotonic()
    calls = math.ceil(POOL_RATE * (args.seconds + args.warmup) / 4)
    data = {
        style: write_dataset(work / style, style, port, "1", calls, args.connections)
        for style in sorted({s.style for s in specs})
    }
    signed = len(data) * calls * 4
    took = time.monotonic() - began
    print(f"signed {signed:,} requests in {took:.0f} s", file=sys.stderr)

    for round_ in range(args.rounds):
        for spec, think in runs:
            with running(spec, port, work) as server:
                asyncio.run(smoke(server))
                result = measure(
                    server,
                    data[spec.style],
                    args.connections,
                    args.seconds,
                    args.warmup,
                    think,
                )
            result.round = round_ + 1
            every.append(result)
            kept = paced if think else loads
            if better(result, kept.get(spec.key)):
                kept[spec.key] = result
            print(
                f"round {round_ + 1} ({spec.key}) {spec.label}"
                f"{f', paced {think} ms' if think else ''}: {result.rps:,.0f} requests/s, "
                f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, errors "
                f"{result.errors}, other CPU {result.other_cpu:.2f}",
                file=sys.stderr,
            )
            if server.db and not think:
                stores[spec.key] = sqlite_calls(server.db)
            if spec.store == "redis" and not think:
                stores[spec.key] = redis_bench.calls_in_redis(str(REDIS["url"]))
            if server.db:
                for leftover in work.glob(server.db.name + "*"):
                    leftover.unlink()

    if "r" in {s.key for s in specs} and args.retention_calls:
        return retention(port, work, args.retention_calls)
    return []


def retention(port: int, work: Path, count: int) -> list[str]:
    validator = RequestValidator(TOKEN)
    calls = [
        [
            (raw_request(port, hook, validator), hook.status)
            for hook in call("ivr", sid_of("7c", n), n)
        ]
        for n in range(count)
    ]
    with running(RETENTION, port, work):
        result = redis_bench.retention_run(
            str(REDIS["url"]), port, calls, 120, 30, lambda m: print(m, file=sys.stderr)
        )
    return redis_bench.retention_lines(result, RETENTION.keep)


def better(new: LoadResult, old: LoadResult | None) -> bool:
    """Noise on a shared machine only slows a run: keep the fastest, or the steadiest paced."""
    if old is None:
        return True
    if new.think_ms:
        return new.p99_ms < old.p99_ms
    return new.rps > old.rps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=64, help="calls at a time")
    parser.add_argument("--seconds", type=float, default=10, help="measured, per run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=2, help="runs per server; the best counts")
    parser.add_argument("--think", type=int, default=100, help="ms between webhooks, paced")
    parser.add_argument("--quick", action="store_true", help="one short round, for a try")
    parser.add_argument("--only", default="", help="comma-separated server keys, e.g. a,c")
    parser.add_argument("--no-extras", action="store_true", help="skip memory and flow checks")
    parser.add_argument(
        "--retention-calls",
        type=int,
        default=5000,
        help="whole calls of the Redis retention run (0: none)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup, args.rounds = 3.0, 2.0, 1
    if args.seconds + args.warmup > 120 or args.connections > 512 or args.rounds > 5:
        parser.error("keep a run bounded: 120 s, 512 connections and 5 rounds at most")
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    specs = [s for s in SERVERS if not args.only or s.key in args.only.split(",")]
    runs = [(s, 0) for s in specs]
    if args.think:
        runs += [(s, args.think) for s in specs if s.key in ("a", "b", "c", "d", "r", "r2")]
    port = free_port()  # one port for every server in turn, so one set of signed files
    results_dir = BENCH / "results"
    results_dir.mkdir(exist_ok=True)

    loads: dict[str, LoadResult] = {}
    paced: dict[str, LoadResult] = {}
    every: list[LoadResult] = []
    stores: dict[str, dict[str, int]] = {}
    memory: list[MemoryResult] = []
    checks: list[CheckResult] = []
    extra: list[str] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as tmp:
        work = Path(tmp)
        if any(s.store == "redis" for s in specs):
            REDIS["proc"], REDIS["url"] = redis_bench.start_redis(work, free_port())
        try:
            began = time.monotonic()
            extra = run_all(args, specs, runs, port, work, loads, paced, every, stores)
            if not args.no_extras:
                for spec in (SERVERS[3], SERVERS[2]):
                    memory.append(live_calls(spec, port, work, LIVE_CALLS))
                checks = flow_checks(rounds=3)
        finally:
            proc = REDIS.pop("proc", None)
            if isinstance(proc, subprocess.Popen):
                proc.terminate()
                proc.wait(10)
    extra.append(
        f"\nLoad average of the machine (1, 5, 15 min): {load_before[0]:.2f}, "
        f"{load_before[1]:.2f}, {load_before[2]:.2f} before the run, "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + f" after ({time.monotonic() - began:.0f} s); 'other CPU' in the tables is what "
        "processes other than the server and wrk used meanwhile."
    )

    text = report(loads, paced, memory, checks, args, stores, extra, every)
    print(text)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (results_dir / f"{stamp}.md").write_text(text)
    raw = {
        "runs": [asdict(r) for r in every],
        "memory": [asdict(m) for m in memory],
        "checks": [asdict(c) for c in checks],
    }
    (results_dir / f"{stamp}.json").write_text(json.dumps(raw, indent=1))
    bad = sorted({r.key for r in every if r.errors})
    if bad:
        print(f"errors in the runs of {bad}: see above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
