"""The servers the benchmark compares, each started fresh as processes on 127.0.0.1 and
stopped with everything it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis_bench
from calls import HOST, TOKEN

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


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
