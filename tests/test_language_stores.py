"""The languages callers chose, the same in memory, SQLite and a real Redis server: written with
the session, one per caller number and flow, the last choice winning, kept past any retention."""

from __future__ import annotations

import asyncio
import time

import pytest

from ivr.engine.session import Session
from ivr.store import Retention, Store
from ivr.store.base import Effects, LanguageChoice


@pytest.fixture
def retention() -> Retention:
    return Retention(history=0.05, messages=0.05)


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
