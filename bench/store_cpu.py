"""The CPU time of one update of the Redis store alone: no app, no HTTP, one at a time.

    python bench/store_cpu.py

An update that changes a session (a read and a script), then one that only reads (a status
callback for a call that is over), 4,000 of each on 50 conversations, against a
redis-server of its own. Best and median of batches of 100, as in bench/inprocess.py.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis_bench  # noqa: E402
from servers import free_port  # noqa: E402

from ivr.engine.session import Session  # noqa: E402
from ivr.store import open_store  # noqa: E402
from ivr.store.redis import RedisStore  # noqa: E402

BATCH, BATCHES, WARM = 100, 40, 200


def bump(before: Session | None) -> tuple[Session, None]:
    now = time.time()
    session = before or Session(key="k", flow="f", version="v1", channel="voice", started=now)
    return session.evolve(seq=session.seq + 1), None


def look(before: Session | None) -> tuple[None, None]:
    return None, None


async def measure() -> None:
    with tempfile.TemporaryDirectory() as folder:
        proc, url = redis_bench.start_redis(Path(folder), free_port())
        store = open_store(url)
        assert isinstance(store, RedisStore)
        try:
            for name, change in (("an update", bump), ("a read only", look)):
                for i in range(WARM):
                    await store.aupdate(f"CA{i % 50}", change, 60)
                batches = []
                for _ in range(BATCHES):
                    cpu = time.process_time()
                    for i in range(BATCH):
                        await store.aupdate(f"CA{i % 50}", change, 60)
                    batches.append((time.process_time() - cpu) / BATCH * 1e6)
                best, median = min(batches), statistics.median(batches)
                print(f"{name}: {best:.0f} µs CPU at best, {median:.0f} median")
        finally:
            await store.aclose()
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    import uvloop

    uvloop.run(measure())
