"""What the benchmark measures besides load: the memory of many live calls, and the time to load
and check big flows."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from calls import TOKEN, call, raw_request, sid_of
from client import send_all
from load import rss_bytes
from servers import BENCH, ServerSpec, running, tree
from twilio.request_validator import RequestValidator


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
