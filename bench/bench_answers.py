"""What a long text of dots costs to match, now and with the regular expression it replaced.

    python bench/bench_answers.py

A texter (or anyone who can post a signed webhook) controls the text: its normalisation must
stay linear. The old expression, anchored at the end, tried every run of dots in turn.
"""

from __future__ import annotations

import re
import time

from ivr.engine.answers import match, normalize
from ivr.flow.model import Choice

OLD_TRAILING = re.compile(r"[\s.,!?;:…。！？]+$")


def timed(fn: object, text: str) -> float:
    assert callable(fn)
    start = time.perf_counter()
    fn(text)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    choices = [Choice(answers=("yes",), target="done")]
    for size in (10_000, 40_000):
        text = "." * size + "x"
        old = timed(lambda t: OLD_TRAILING.sub("", t), text)
        new = timed(normalize, text)
        whole = timed(lambda t: match(choices, [], t, "text"), text)
        print(
            f"{size:>6} dots then x: old expression {old:8.1f} ms, normalize {new:6.2f} ms, "
            f"match {whole:6.2f} ms"
        )


if __name__ == "__main__":
    main()
