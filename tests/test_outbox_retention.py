"""The outbox's retention: an item sent or given up is forgotten after the messages' retention,
in memory, SQLite and a real Redis server; one still waiting to be sent is never."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from test_outbox_stores import enqueue, text

from ivr.store import Retention, Store
from ivr.store.redis import RedisStore

KEEP = 0.5  # the messages' retention: short, so that the test soon waits it out


@pytest.fixture
def retention() -> Retention:
    return Retention(history=60, messages=KEEP)


def test_done_items_go_at_the_retention_and_pending_ones_stay(store: Store) -> None:
    enqueue(store, text("+15550001"), text("+15550002"), text("+15550003"))
    now = finished = time.time()
    sent, failed, waiting = sorted(store.claim_outgoing(now, 60, 10), key=lambda o: o.id)
    assert store.finish_outgoing(replace(sent, status="sent", done=time.time(), detail="SM1"))
    assert store.finish_outgoing(replace(failed, status="failed", done=time.time()))
    # Tried once and due again in an hour: still the outbox's to send.
    assert store.finish_outgoing(replace(waiting, attempts=1, due=now + 3600))

    async def prune_until_only_the_waiting_one_is_left() -> None:
        pruned, kept = await store.prune(), len(store.outgoing())
        if time.time() < finished + KEEP:  # only while the clock says none can have lapsed
            assert pruned == 0, "nothing is past its retention yet"
            assert kept == 3
        deadline = time.monotonic() + 15
        while [o.to for o in store.outgoing()] != ["+15550003"]:
            assert time.monotonic() < deadline, "the outbox kept what was sent"
            await store.prune()
            await asyncio.sleep(0.1)
        while await store.prune():
            assert time.monotonic() < deadline, "pruning does not end"
        assert await store.prune() == 0
        await store.aclose()  # this loop's connections

    asyncio.run(prune_until_only_the_waiting_one_is_left())
    [left] = store.outgoing()
    assert (left.status, left.attempts) == ("pending", 1)
    if isinstance(store, RedisStore):  # the indexes hold the waiting one only, and no key lingers
        r = store._redis
        assert r.zrange("ivr:outbox:all", 0, -1) == [str(waiting.id)]
        assert r.zrange("ivr:outbox:all:desk", 0, -1) == [str(waiting.id)]
        assert r.zcard("ivr:outbox:done") == 0
        assert not r.exists(f"ivr:outbox:{sent.id}", f"ivr:outbox:{failed.id}")
    assert store.claim_outgoing(now + 7200, 60, 10)[0].id == waiting.id
