"""The outbox and the switches, the same in memory, SQLite and a real Redis server."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from ivr.engine.session import Session
from ivr.store import MessageRecord, Store
from ivr.store.base import Effects, Outgoing, SwitchChange


def session(key: str = "CA1") -> Session:
    return Session(key=key, flow="desk", version="v1", channel="voice", started=1.0)


def text(to: str = "+15550001", due: float = 0.0, **kw: object) -> Outgoing:
    return Outgoing(
        channel="sms",
        to=to,
        body="hello",
        flow="desk",
        created=due,
        due=due,
        **kw,  # type: ignore[arg-type]
    )


def enqueue(store: Store, *items: Outgoing, key: str = "CA1", **effects: object) -> None:
    def change(before: Session | None) -> tuple[Session | None, str]:
        return session(key), "done"

    store.update(key, change, 60, lambda result: Effects(outbox=items, **effects))  # type: ignore[arg-type]


def test_effects_are_written_with_the_session(store: Store) -> None:
    message = MessageRecord("desk", "+1555", "+1666", "CA1", "voicemail", 5.0, url="https://r/1")
    flip = SwitchChange("closed_today", True, 7.0, "call CA1")
    enqueue(store, text(), messages=[message], switches=[flip])
    assert store.load("CA1") is not None
    [item] = store.outgoing()
    assert (item.to, item.body, item.status, item.id > 0) == ("+15550001", "hello", "pending", True)
    assert [m.url for m in store.messages()] == ["https://r/1"]
    assert store.switches() == {"closed_today": flip}


def test_a_failed_update_writes_no_effects(store: Store) -> None:
    def change(before: Session | None) -> tuple[Session | None, str]:
        return session(), "done"

    def effects(result: str) -> Effects:
        raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError):
        store.update("CA1", change, 60, effects)
    assert store.outgoing() == [] and store.load("CA1") is None


def test_a_claimed_item_is_nobody_elses_until_its_lease_ends(store: Store) -> None:
    enqueue(store, text(due=100.0))
    assert store.claim_outgoing(99.0, 30, 10) == []  # not due yet
    [mine] = store.claim_outgoing(100.0, 30, 10)
    assert store.claim_outgoing(120.0, 30, 10) == []
    [theirs] = store.claim_outgoing(131.0, 30, 10)  # the first worker died, say
    assert theirs.claim != mine.claim
    assert not store.finish_outgoing(replace(mine, status="sent", done=125.0))
    assert store.finish_outgoing(replace(theirs, status="sent", done=132.0, detail="SM1"))
    [item] = store.outgoing()
    assert (item.status, item.done, item.detail, item.claim) == ("sent", 132.0, "SM1", "")
    assert store.claim_outgoing(10_000.0, 30, 10) == []


def test_a_retry_comes_back_at_its_time(store: Store) -> None:
    enqueue(store, text())
    [item] = store.claim_outgoing(10.0, 30, 10)
    retry = replace(item, attempts=1, due=50.0, detail="SMTP said 451")
    assert store.finish_outgoing(retry)
    assert store.claim_outgoing(49.0, 30, 10) == []
    [again] = store.claim_outgoing(50.0, 30, 10)
    assert (again.attempts, again.detail) == (1, "SMTP said 451")


def test_many_workers_take_each_item_once(store: Store) -> None:
    enqueue(store, *(text(to=f"+1555{i:04}") for i in range(60)))
    now = time.time()

    def worker(_: int) -> list[int]:
        taken: list[int] = []
        for _ in range(40):
            for item in store.claim_outgoing(now, 60, 3):
                taken.append(item.id)
                assert store.finish_outgoing(replace(item, status="sent", done=now))
        return taken

    with ThreadPoolExecutor(6) as pool:
        taken = [i for found in pool.map(worker, range(6)) for i in found]
    assert sorted(taken) == sorted(o.id for o in store.outgoing(last=100))
    assert len(set(taken)) == 60


def test_a_note_waits_for_its_transcription(store: Store) -> None:
    now = time.time()
    note = replace(text(due=now + 120), kind="note", conversation="CA1", recording="https://r/1")
    other = replace(note, conversation="CA2", recording="https://r/2")
    message = MessageRecord("desk", "+1555", "+1666", "CA1", "voicemail", now, url="https://r/1")
    enqueue(store, note, other, messages=[message])
    assert store.claim_outgoing(now + 1, 30, 10) == []
    assert store.set_transcription("CA1", "https://r/1", "Please call me back")
    [item] = store.claim_outgoing(time.time(), 30, 10)
    assert (item.conversation, item.transcription) == ("CA1", "Please call me back")
    assert store.messages()[0].transcription == "Please call me back"
    # A transcription that comes while the note is being sent leaves its lease alone.
    assert store.set_transcription("CA1", "https://r/1", "again")
    assert store.claim_outgoing(time.time(), 30, 10) == []


def test_switches_keep_every_change(store: Store) -> None:
    store.set_switch(SwitchChange("closed_today", True, 10.0, "command", until=100.0))
    store.set_switch(SwitchChange("night", True, 11.0, "api"))
    store.set_switch(SwitchChange("closed_today", False, 12.0, "call CA9"))
    current = store.switches()
    assert sorted(current) == ["closed_today", "night"]
    assert (current["closed_today"].on, current["closed_today"].by) == (False, "call CA9")
    history = store.switch_history("closed_today")
    assert [(c.on, c.by, c.until) for c in history] == [
        (False, "call CA9", None),
        (True, "command", 100.0),
    ]
    assert len(store.switch_history()) == 3


def test_a_switch_turns_back_at_its_until() -> None:
    change = SwitchChange("closed_today", True, 10.0, "command", until=100.0)
    assert change.value(99.9) and not change.value(100.0)
    assert SwitchChange("x", False, 1.0, "api", until=5.0).value(6.0)
