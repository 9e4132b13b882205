"""The SQLite store's sessions table: its indexes, a file made before, and pruning."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ivr.engine.session import Session
from ivr.store import Retention
from ivr.store.sqlite import SQLiteStore

# The sessions table as files made before have it, with indexes every save paid for.
OLD = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, lookup TEXT NOT NULL, flow TEXT NOT NULL, started REAL NOT NULL,
    expires REAL NOT NULL, ended INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
CREATE INDEX sessions_live ON sessions (lookup, ended);
CREATE INDEX sessions_key ON sessions (json_extract(data, '$.key'));
CREATE INDEX sessions_expires ON sessions (expires);
"""


def text_session(key: str, started: float, **kw: object) -> Session:
    return Session(key=key, flow="f", version="v1", channel="sms", started=started, **kw)  # type: ignore[arg-type]


def put(store: SQLiteStore, lookup: str, session: Session, ttl: float = 60) -> None:
    store.update(lookup, lambda _: (session, None), ttl)


def indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        return {r[0] for r in rows}


def test_a_file_made_before_loses_the_costly_indexes_and_finds_conversations_by_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    old = text_session("sms:+1999:+1555:100.000000", 100.0, state="menu")
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD)
        conn.execute(
            "INSERT INTO sessions VALUES ('r1', 'sms:+1999:+1555', 'f', 100.0, ?, 0, ?)",
            (time.time() + 60, old.to_json()),
        )
    for _ in range(2):  # the second opening finds them gone already
        store = SQLiteStore(str(path))
        found = store.conversation(old.key)
        assert found is not None and found.state == "menu"
        store.close()
    names = indexes(path)
    assert "sessions_key" not in names and "sessions_expires" not in names
    # Each text conversation of a pair of numbers is found by its own key.
    store = SQLiteStore(str(path))
    put(store, "sms:+1999:+1555", old.evolve(ended=True))
    newer = text_session("sms:+1999:+1555:200.000000", 200.0, state="hours")
    put(store, "sms:+1999:+1555", newer)
    assert store.conversation(old.key) == old.evolve(ended=True)
    assert store.conversation(newer.key) == newer
    assert store.conversation("sms:+1999:+1555:300.000000") is None
    store.close()


def test_pruning_keeps_a_conversation_started_long_ago_that_is_still_going(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(str(tmp_path / "s.sqlite3"), Retention(history=3600, messages=3600))
    now = time.time()
    put(store, "sms:a", text_session("sms:a:1", now - 7200), ttl=3 * 3600)  # a long time-out
    put(store, "sms:b", text_session("sms:b:1", now - 7200, ended=True))  # ended now
    assert store.prune_batch(now + 3600 - 30) == 0  # within the hour after b ended
    assert store.prune_batch(now + 3600 + 30) == 1  # b went; a started long ago but goes on
    assert [s.key for s in store.history()] == ["sms:a:1"]
    assert store.prune_batch(now + 4 * 3600 + 30) == 1  # an hour after a's time-out
    assert store.history() == []
    store.close()
