"""The SQLite store's call presets: the sessions calls we place start from, kept by token.

A table of their own, apart from `sessions`, so that no history, console page or metric ever
counts a call that was only asked for; expired rows go with the store's pruning, a batch at a
time like the rest.
"""

from __future__ import annotations

import sqlite3
import time

from ivr.engine.session import Session
from ivr.store.threaded import in_thread

SCHEMA = """
CREATE TABLE IF NOT EXISTS call_presets (
    token TEXT PRIMARY KEY, data TEXT NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS call_presets_expires ON call_presets (expires);
"""


def prune(conn: sqlite3.Connection, now: float, batch: int) -> int:
    """Delete up to `batch` presets whose time is up; how many went."""
    return int(
        conn.execute(
            "DELETE FROM call_presets WHERE token IN "
            "(SELECT token FROM call_presets WHERE expires <= ? LIMIT ?)",
            (now, batch),
        ).rowcount
    )


class SQLitePresets:
    """The preset methods of `SQLiteStore`."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError  # the store's own

    def keep_preset(self, token: str, session: Session, ttl: float) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO call_presets (token, data, expires) VALUES (?, ?, ?)",
            (token, session.to_json(), time.time() + ttl),
        )

    def preset(self, token: str) -> Session | None:
        row = (
            self._conn()
            .execute(
                "SELECT data FROM call_presets WHERE token = ? AND expires > ?",
                (token, time.time()),
            )
            .fetchone()
        )
        return Session.from_json(row[0]) if row else None

    async def apreset(self, token: str) -> Session | None:
        return await in_thread(self.preset, token)

    def drop_preset(self, token: str) -> None:
        self._conn().execute("DELETE FROM call_presets WHERE token = ?", (token,))

    async def adrop_preset(self, token: str) -> None:
        await in_thread(self.drop_preset, token)
