"""Blocking store work in a thread is never cut off by a cancellation: the store closes after it."""

from __future__ import annotations

import asyncio
import threading

from ivr.store.threaded import in_thread


def test_a_cancelled_caller_waits_for_its_thread() -> None:
    started, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def work() -> str:
        started.set()
        release.wait(10)
        seen.append("thread done")
        return "ok"

    async def scenario() -> None:
        task = asyncio.create_task(in_thread(work))
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        for _ in range(20):  # the cancellation must not finish while the thread still runs
            await asyncio.sleep(0)
        assert not task.done()
        release.set()
        try:
            await task
        except asyncio.CancelledError:
            seen.append("cancelled")
        assert seen == ["thread done", "cancelled"]

    asyncio.run(scenario())


def test_the_result_comes_back_when_nothing_cancels() -> None:
    assert asyncio.run(in_thread(lambda: 41 + 1)) == 42
