"""The benchmark's report in Markdown: the tables, the ratios, what limited each run, and the
targets met or not."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path

from extras import CheckResult, MemoryResult
from load import LoadResult


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
