"""The Redis store against a real redis-server: round trips, keys, expiry, passwords, errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot
from redis_server import start_redis, stop_redis

from ivr.engine.session import Session
from ivr.store import MessageRecord, Retention, Store, StoreError, open_store
from ivr.store.base import Change

HISTORY, MESSAGES = 100.0, 200.0


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop_redis(proc)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url, decode_responses=True)
    c.flushdb()
    yield c
    c.close()


@pytest.fixture
def store(redis_url: str, client: redis.Redis) -> Iterator[Store]:
    s = open_store(redis_url, Retention(history=HISTORY, messages=MESSAGES))
    yield s
    s.close()


def session(key: str, **kw: object) -> Session:
    return Session(key=key, flow="f", version="v1", channel="sms", started=time.time(), **kw)  # type: ignore[arg-type]


def put(new: Session) -> Change[None]:
    return lambda _: (new, None)


def bump(before: Session | None) -> tuple[Session | None, None]:
    # A store that hasn't seen the conversation may first compute from none.
    return (before.evolve(seq=before.seq + 1) if before else None), None


def seq(before: Session | None) -> tuple[None, int]:
    return None, before.seq if before else -1


def commands(client: redis.Redis) -> dict[str, int]:
    """The commands Redis ran since its counts were reset (and those scripts ran inside),
    leaving out a new connection's greeting."""
    stats = client.info("commandstats")
    client.config_resetstat()
    calls = {name.removeprefix("cmdstat_"): stat["calls"] for name, stat in stats.items()}
    return {k: n for k, n in calls.items() if k not in ("config|resetstat", "hello")}


def test_an_update_is_one_script_when_the_store_knows_the_conversation(
    redis_url: str, store: Store, client: redis.Redis
) -> None:
    store.update("CA1", put(session("CA1")), 60)
    client.config_resetstat()
    store.update("CA1", bump, 60)
    written = {"hget": 1, "hset": 1, "pexpire": 1}  # what the script does inside
    assert commands(client) == {"evalsha": 1, **written}
    # Another host's store doesn't know it: it reads it, then writes.
    other = open_store(redis_url)
    try:
        other.update("CA1", bump, 60)
        assert commands(client) == {"hmget": 1, "evalsha": 1, **written}
        # Now the first store's version is out of date: its script finds another and answers
        # with it (HMGET inside), the step is computed again from that, and written.
        store.update("CA1", bump, 60)
        assert commands(client) == {"evalsha": 2, "hget": 2, "hmget": 1, "hset": 1, "pexpire": 1}
        loaded = other.load("CA1")
        assert loaded is not None and loaded.seq == 3
    finally:
        other.close()


def test_hosts_that_take_turns_on_a_call_read_before_they_compute(
    redis_url: str, store: Store, client: redis.Redis
) -> None:
    store.update("CA1", put(session("CA1")), 60)
    other = open_store(redis_url)
    try:
        for _ in range(6):  # what each one remembers is always out of date
            other.update("CA1", bump, 60)
            store.update("CA1", bump, 60)
        client.config_resetstat()
        other.update("CA1", bump, 60)
        store.update("CA1", bump, 60)
        written = {"hget": 2, "hset": 2, "pexpire": 2}  # by the scripts, inside
        assert commands(client) == {"hmget": 2, "evalsha": 2, **written}
        for _ in range(8):  # one host alone: what it remembers is right again
            store.update("CA1", bump, 60)
        client.config_resetstat()
        store.update("CA1", bump, 60)
        assert commands(client) == {"evalsha": 1, "hget": 1, "hset": 1, "pexpire": 1}
        loaded = other.load("CA1")
        assert loaded is not None and loaded.seq == 23
    finally:
        other.close()


def test_an_update_that_writes_nothing_reads_the_current_version(
    redis_url: str, store: Store, client: redis.Redis
) -> None:
    store.update("CA1", put(session("CA1")), 60)
    other = open_store(redis_url)
    try:
        other.update("CA1", bump, 60)
        client.config_resetstat()
        # The store computes from the version it wrote (seq 0), finds that out of date.
        assert store.update("CA1", seq, 60) == 1
        assert commands(client) == {"hmget": 1}
        assert other.update("CA1", seq, 60) == 1
        assert store.update("CA9", seq, 60) == -1
    finally:
        other.close()


def test_a_conversations_keys_share_one_hash_slot(store: Store, client: redis.Redis) -> None:
    lookup = "sms:+15550001:+15550002"
    store.update(lookup, put(session(lookup + ":1", ended=True)), 60)
    store.update(lookup, put(session(lookup + ":2")), 60)
    keys = client.keys("ivr:conv:*")
    assert len(keys) == 2  # the live conversation and the one before it, moved aside
    assert all("{" + lookup + "}" in k for k in keys)
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert {s.key for s in store.history("f")} == {lookup + ":1", lookup + ":2"}


def test_live_and_ended_conversations_and_messages_expire(
    store: Store, client: redis.Redis
) -> None:
    store.update("CA1", put(session("CA1")), 60)
    assert HISTORY + 55 < client.ttl("ivr:conv:{CA1}") <= HISTORY + 60
    store.update("CA1", lambda s: (s.evolve(ended=True) if s else None, None), 60)
    assert HISTORY - 5 < client.ttl("ivr:conv:{CA1}") <= HISTORY
    store.add_message(MessageRecord("f", "+1", "+2", "CA1", "vm", time.time(), url="u1"))
    for key in ("ivr:msg:1", "ivr:msgurl:{u1}", "ivr:msgconv:{CA1}"):
        assert MESSAGES - 5 < client.ttl(key) <= MESSAGES
    # Opt-outs and flow versions are never expired.
    store.set_opt_out("+1", "+2", True)
    store.keep_flow("f", "v1", "states: {}")
    assert client.ttl("ivr:optout:{+1}") == client.ttl("ivr:flows") == -1


def test_updates_from_two_stores_at_once_are_each_applied_once(
    redis_url: str, store: Store
) -> None:
    import threading

    other = open_store(redis_url)
    store.update("CA1", put(session("CA1")), 60)
    threads = [
        threading.Thread(target=lambda s=s: [s.update("CA1", bump, 60) for _ in range(25)])
        for s in (store, other, store, other)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    loaded = store.load("CA1")
    assert loaded is not None and loaded.seq == 100


def test_a_password_is_sent_and_a_wrong_one_is_a_clear_error(tmp_path: Path) -> None:
    proc, url = start_redis(tmp_path, password="s3cret")
    try:
        good = open_store(url)
        good.set_opt_out("+1", "+2", True)
        assert good.opted_out("+1", "+2")
        good.close()
        bad = open_store(url.replace("s3cret", "wrong"))
        with pytest.raises(StoreError, match="Redis at 127.0.0.1"):
            bad.load("CA1")
        bad.close()
    finally:
        stop_redis(proc)


def test_a_redis_that_is_not_there_is_a_store_error_after_one_more_try() -> None:
    from conftest import free_port

    store = open_store(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(StoreError, match="can't be reached"):
        store.update("CA1", put(session("CA1")), 60)
    assert time.monotonic() - started >= 0.25  # it waited, then tried once more
    store.close()


def test_after_the_retention_only_opt_outs_and_flows_are_left(
    redis_url: str, client: redis.Redis
) -> None:
    import asyncio

    # Short, so that the test soon waits the keys out; Redis expires them by itself, so the
    # count is only asserted while the clock says none of them can have lapsed yet.
    keep = 0.5
    store = open_store(redis_url, Retention(history=keep, messages=keep))
    store.set_opt_out("+1", "+2", True)
    store.keep_flow("f", "v1", "states: {}")
    started = time.time()
    for i in range(30):
        lookup = f"sms:+1:+{i % 3}"  # ten conversations on each of three lookups
        store.update(lookup, put(session(f"{lookup}:{i}", ended=i % 2 == 0)), keep)
        store.add_message(MessageRecord("f", "+1", "+2", lookup, "vm", time.time(), url=f"u{i}"))
    keys = client.dbsize()
    if time.time() < started + keep:
        assert keys > 30

    async def prune() -> None:
        deadline = time.monotonic() + 10
        while await store.prune() or client.dbsize() > 4:
            assert time.monotonic() < deadline, sorted(client.keys("*"))
            await asyncio.sleep(0.05)
        await store.aclose()

    asyncio.run(prune())
    left = ["ivr:flows", "ivr:msgid", "ivr:optout:{+1}", "ivr:optout_at:{+1}"]
    assert sorted(client.keys("*")) == left


def test_a_conversation_is_found_by_its_key_without_walking_the_history(
    store: Store, client: redis.Redis
) -> None:
    for n in range(30):
        store.update(f"CA{n}", put(session(f"CA{n}")), 60)
    text = "sms:+15550001:+15550002"
    store.update(text, put(session(f"{text}:5.000000")), 60)
    client.config_resetstat()
    found = store.conversation("CA7")
    assert found is not None and found.key == "CA7"
    found = store.conversation(f"{text}:5.000000")
    assert found is not None and found.key == f"{text}:5.000000"
    assert store.conversation("CA-no-one-knows") is None
    assert set(commands(client)) == {"hmget", "hget"}  # no sorted set was read


def test_updates_under_way_at_once_share_one_connection_and_none_is_lost(
    redis_url: str, client: redis.Redis
) -> None:
    async def run() -> tuple[int, int]:
        store = open_store(redis_url)
        try:
            await asyncio.gather(
                *(store.aupdate(f"CA{n}", put(session(f"CA{n}")), 60) for n in range(20))
            )
            await asyncio.gather(*(store.aupdate("CA0", bump, 60) for _ in range(30)))
            connections = len(client.client_list()) - 1  # this test's own
            loaded = await store.aload("CA0")
            return connections, loaded.seq if loaded else -1
        finally:
            await store.aclose()

    assert asyncio.run(run()) == (1, 30)
