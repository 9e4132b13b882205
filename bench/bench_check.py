"""How long loading and checking a flow takes as it grows: 100, 1,000 and 10,000 states.

Each generated flow is a chain of menus: every menu offers the next one, the previous one, and
(every tenth) a branch on opening hours, so the schema, the checks and the model all have work
to do. Run it with `python bench/bench_check.py`; it is not part of the test suite.
"""

from __future__ import annotations

import statistics
import sys
import time

from ivr.flow.loader import load_flow_text

SIZES = (100, 1_000, 10_000)
ROUNDS = 5


def generate(count: int) -> str:
    """A flow of `count` states that checks clean, as YAML text."""
    lines = [
        "description: generated menus",
        "hours:",
        "  office: {timezone: Europe/Paris, weekly: {mon-fri: '09:00-17:00'}}",
        "states:",
    ]
    for i in range(count):
        after, before = f"m{(i + 1) % count}", f"m{(i - 1) % count}"
        if i % 10 == 9:
            lines += [
                f"  m{i}:",
                "    branch:",
                f"      - {{if: {{open: office}}, next: {after}}}",
                f"      - next: {before}",
            ]
        else:
            lines += [
                f"  m{i}:",
                f"    say: Menu {i}. Press 1 or 2.",
                f'    choices: {{"1, on": {after}, "2, back": {before}}}',
            ]
    return "\n".join(lines) + "\n"


def main() -> int:
    print(f"{'states':>8} {'size':>10} {'median':>10} {'best':>10}")
    for count in SIZES:
        text = generate(count)
        times = []
        for _ in range(ROUNDS):
            began = time.perf_counter()
            flow, problems = load_flow_text(text, name="bench")
            times.append(time.perf_counter() - began)
            if flow is None or problems:
                print("\n".join(str(p) for p in problems[:5]))
                return 1
        size = f"{len(text.encode()) / 1024:,.0f} KiB"
        median, best = statistics.median(times), min(times)
        print(f"{count:>8,} {size:>10} {median * 1000:>8.0f}ms {best * 1000:>8.0f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
