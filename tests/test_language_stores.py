"""The languages callers chose, the same in memory, SQLite and a real Redis server: written with
the session, one per caller number and flow, the last choice winning, kept past any retention."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_server import start_redis

from ivr.engine.session import Session
from ivr.store import Retention, Store, open_store
from ivr.store.base import Effects, LanguageChoice


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    brief = Retention(history=0.05, messages=0.05)
    if request.param == "memory":
        s = open_store("memory://", brief)
    elif request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/s.sqlite3", brief)
    else:
        url = request.getfixturevalue("redis_url")
        import redis

        redis.Redis.from_url(url).flushdb()
        s = open_store(url, brief)
    yield s
    s.close()


def choose(store: Store, number: str, flow: str, language: str, key: str = "CA1") -> None:
    session = Session(key=key, flow=flow, version="v1", channel="voice", caller=number, ended=True)

    def change(before: Session | None) -> tuple[Session | None, str]:
        return session, language

    choice = LanguageChoice(flow, number, language, time.time())
    store.update(key, change, 0.05, lambda _: Effects(languages=[choice]))


def test_a_choice_is_kept_per_number_and_flow(store: Store) -> None:
    assert store.language_of("clinic", "+15550001") == ""
    choose(store, "+15550001", "clinic", "es-US")
    choose(store, "+15550002", "clinic", "fr-CA", key="CA2")
    choose(store, "+15550001", "school", "fr-CA", key="CA3")
    assert store.language_of("clinic", "+15550001") == "es-US"
    assert store.language_of("clinic", "+15550002") == "fr-CA"
    assert store.language_of("school", "+15550001") == "fr-CA"
    assert store.language_of("school", "+15550002") == ""
    choose(store, "+15550001", "clinic", "en-US", key="CA4")  # the last choice wins
    assert store.language_of("clinic", "+15550001") == "en-US"


def test_a_choice_outlives_the_retention(store: Store) -> None:
    choose(store, "+15550001", "clinic", "es-US")

    async def prune() -> str:
        deadline = time.monotonic() + 10
        await asyncio.sleep(0.1)  # past the history's retention of 0.05 s
        while await store.prune():
            assert time.monotonic() < deadline
        found = await store.alanguage_of("clinic", "+15550001")
        await store.aclose()
        return found

    assert asyncio.run(prune()) == "es-US"
    assert store.history("clinic") == []
