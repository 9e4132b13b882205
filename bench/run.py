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

This module runs it all; the parts: calls.py (the signed webhooks and wrk's files), servers.py
(what is compared, started and stopped), load.py (a wrk run and the CPU each process used),
client.py (answers checked before a run), extras.py (memory, big flows), report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import redis_bench
from calls import TOKEN, call, raw_request, sid_of, write_dataset
from client import smoke
from extras import CheckResult, MemoryResult, flow_checks, live_calls
from load import LoadResult, measure, sqlite_calls
from report import report
from servers import BENCH, REDIS, RETENTION, SERVERS, ServerSpec, free_port, running
from twilio.request_validator import RequestValidator

# How many requests a second the data files are sized for: above what a stateful server
# reaches here, with room to spare. A stateless server that goes faster replays its files
# again (counted as wraps), which is harmless there: it keeps nothing per call.
POOL_RATE = 12_000
LIVE_CALLS = 10_000


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
