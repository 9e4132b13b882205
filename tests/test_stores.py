"""The store contract, the same for memory, SQLite and a real Redis server."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ivr.engine.session import Session
from ivr.store import MessageRecord, Retention, Store, open_store


def fresh(key: str = "CA1", **kw: object) -> Session:
    return Session(key=key, flow="f", version="v1", channel="voice", started=1.0, **kw)  # type: ignore[arg-type]


def put(session: Session) -> object:
    def change(before: Session | None) -> tuple[Session | None, None]:
        return session, None

    return change


def test_update_creates_loads_and_replaces(store: Store) -> None:
    assert store.load("CA1") is None
    store.update("CA1", put(fresh(state="a")), 60)  # type: ignore[arg-type]
    loaded = store.load("CA1")
    assert loaded is not None and loaded.state == "a"
    seen: list[Session | None] = []

    def advance(before: Session | None) -> tuple[Session | None, str]:
        seen.append(before)
        assert before is not None
        return before.evolve(state="b", seq=before.seq + 1), "done"

    assert store.update("CA1", advance, 60) == "done"
    assert seen[0] is not None and seen[0].state == "a"
    assert store.load("CA1").state == "b"  # type: ignore[union-attr]
    assert [s.state for s in store.history("f")] == ["b"]


def test_ended_and_expired_sessions_are_not_live_but_stay_in_history(store: Store) -> None:
    store.update("CA1", put(fresh(state="a")), 60)  # type: ignore[arg-type]
    store.update("CA1", put(fresh(state="a", ended=True, outcome="completed")), 60)  # type: ignore[arg-type]
    assert store.load("CA1") is None
    store.update("sms:1:2", put(fresh("sms:1:2:t1", state="x")), 0.001)  # type: ignore[arg-type]
    # Redis expires it on its own clock: polled until then, with a deadline.
    deadline = time.monotonic() + 5
    while store.load("sms:1:2") is not None:
        assert time.monotonic() < deadline, "an expired session is still live"
        time.sleep(0.01)
    store.update("sms:1:2", put(fresh("sms:1:2:t2", state="y")), 60)  # type: ignore[arg-type]
    keys = {s.key for s in store.history("f", 10)}
    assert {"CA1", "sms:1:2:t1", "sms:1:2:t2"} <= keys
    assert store.load("sms:1:2").key == "sms:1:2:t2"  # type: ignore[union-attr]


def test_concurrent_updates_are_applied_one_after_the_other(store: Store) -> None:
    store.update("CA1", put(fresh(seq=0)), 60)  # type: ignore[arg-type]

    def bump(_: int) -> None:
        def change(before: Session | None) -> tuple[Session | None, None]:
            assert before is not None
            return before.evolve(seq=before.seq + 1), None

        store.update("CA1", change, 60)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bump, range(80)))
    assert store.load("CA1").seq == 80  # type: ignore[union-attr]


def test_messages_and_transcriptions(store: Store) -> None:
    store.add_message(MessageRecord("f", "+1", "+2", "CA1", "vm", 5.0, url="u1", duration=3))
    store.add_message(MessageRecord("g", "+1", "+2", "CA2", "vm", 6.0, text="hi", media=("m",)))
    assert store.set_transcription("CA1", "u1", "hello")
    assert store.set_transcription("CA2", "", "by conversation")
    assert not store.set_transcription("CA9", "nope", "x")
    newest, oldest = store.messages()
    assert (oldest.url, oldest.transcription, oldest.duration) == ("u1", "hello", 3)
    assert (newest.text, newest.media, newest.transcription) == ("hi", ("m",), "by conversation")
    assert [m.flow for m in store.messages("g")] == ["g"]


def test_opt_outs_and_flow_versions(store: Store) -> None:
    assert not store.opted_out("+1")
    store.set_opt_out("+1", "+9", True)
    assert store.opted_out("+1", "+9") and store.opted_out("+1")
    assert not store.opted_out("+1", "+8")
    store.set_opt_out("+1", "+9", False)
    assert not store.opted_out("+1")
    store.keep_flow("f", "v1", "states: {}")
    store.keep_flow("f", "v1", "changed")  # a version's text never changes
    assert store.flow_source("v1") == ("f", "states: {}")
    assert store.flow_source("v2") is None


def test_redis_server_is_really_used(redis_url: str) -> None:
    s = open_store(redis_url)
    s.set_opt_out("+15550001", "+15550002", True)
    s.close()
    out = subprocess.run(
        ["redis-cli", "-u", redis_url, "HGET", "ivr:optout:{+15550001}", "+15550002"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "1"


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_retention_forgets_the_past_but_never_opt_outs_or_flows(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    import asyncio
    import time

    url = {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path}/s.sqlite3"}.get(kind)
    if url is None:
        url = request.getfixturevalue("redis_url")
        import redis

        redis.Redis.from_url(url).flushdb()
    # Short, so that the test soon waits them out; Redis expires keys by itself, so what is
    # kept is only asserted while the clock says none of it can have lapsed yet.
    keep = 0.5
    s = open_store(url, Retention(history=keep, messages=keep))
    now = time.time()
    s.update("CA1", put(fresh(ended=True)), 60)  # type: ignore[arg-type]
    s.update("CA2", put(fresh("CA2")), keep)  # type: ignore[arg-type]
    s.add_message(MessageRecord("f", "+1", "+2", "CA1", "vm", now, url="u1"))
    s.set_opt_out("+1", "+2", True)
    s.keep_flow("f", "v1", "states: {}")
    kept = len(s.history()), len(s.messages())
    if time.time() < now + keep:
        assert kept == (2, 1)

    async def prune_until_gone() -> int:
        deadline = time.monotonic() + 10
        while s.history() or s.messages():
            assert time.monotonic() < deadline, "retention did not forget the past"
            await s.prune()
            await asyncio.sleep(0.05)
        while await s.prune():  # what the indexes still say of what expired by itself
            assert time.monotonic() < deadline, "pruning does not end"
        assert await s.aopted_out("+1", "+2") and s.flow_source("v1") == ("f", "states: {}")
        left = await s.prune()
        await s.aclose()
        return left

    assert asyncio.run(prune_until_gone()) == 0
