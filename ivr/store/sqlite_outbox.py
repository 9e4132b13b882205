"""The SQLite store's outbox, switches and callers' languages: tables, and their statements.

A claim is one `BEGIN IMMEDIATE` transaction that picks due items and moves their `due` past
the lease with a fresh claim token, so two workers (or two hosts on one file) never take the
same item; finishing an item checks the token, so a worker whose lease ran out can't overwrite
what the next one did.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from ivr.store.base import Effects, Outgoing, SwitchChange

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, "to" TEXT NOT NULL,
    body TEXT NOT NULL, kind TEXT NOT NULL, sender TEXT NOT NULL, subject TEXT NOT NULL,
    flow TEXT NOT NULL, conversation TEXT NOT NULL, state TEXT NOT NULL, recording TEXT NOT NULL,
    transcription TEXT NOT NULL, created REAL NOT NULL, due REAL NOT NULL,
    attempts INTEGER NOT NULL, status TEXT NOT NULL, done REAL NOT NULL, detail TEXT NOT NULL,
    claim TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, due);
CREATE INDEX IF NOT EXISTS outbox_recording ON outbox (conversation, recording);
CREATE INDEX IF NOT EXISTS outbox_done ON outbox (done);
CREATE TABLE IF NOT EXISTS switch_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "on" INTEGER NOT NULL,
    at REAL NOT NULL, by TEXT NOT NULL, until REAL);
CREATE INDEX IF NOT EXISTS switch_changes_name ON switch_changes (name, id);
CREATE TABLE IF NOT EXISTS languages (
    flow TEXT NOT NULL, number TEXT NOT NULL, language TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (flow, number));
"""

_COLUMNS = [f.name for f in fields(Outgoing) if f.name != "id"]
_QUOTED = ", ".join(f'"{c}"' for c in _COLUMNS)
_INSERT = f"INSERT INTO outbox ({_QUOTED}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
_SELECT = f"SELECT {_QUOTED}, id FROM outbox"


def _item(row: Iterable[Any]) -> Outgoing:
    return Outgoing(**dict(zip([*_COLUMNS, "id"], row, strict=True)))


def write_effects(conn: sqlite3.Connection, effects: Effects) -> None:
    """Inside the update's transaction: the outbox items and switch changes it decided."""
    for item in effects.outbox:
        conn.execute(_INSERT, [getattr(item, c) for c in _COLUMNS])
    for change in effects.switches:
        add_switch(conn, change)
    for choice in effects.languages:
        conn.execute(
            "INSERT INTO languages (flow, number, language, at) VALUES (?, ?, ?, ?) ON CONFLICT "
            "(flow, number) DO UPDATE SET language = excluded.language, at = excluded.at",
            (choice.flow, choice.number, choice.language, choice.at),
        )


def language_of(conn: sqlite3.Connection, flow: str, number: str) -> str:
    row = conn.execute(
        "SELECT language FROM languages WHERE flow = ? AND number = ?", (flow, number)
    ).fetchone()
    return str(row[0]) if row else ""


def claim(conn: sqlite3.Connection, now: float, lease: float, limit: int) -> list[Outgoing]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute(
            f"{_SELECT} WHERE status = 'pending' AND due <= ? ORDER BY due, id LIMIT ?",
            (now, limit),
        ).fetchall()
        taken = []
        for row in rows:
            item = _item(row)
            token = uuid.uuid4().hex
            conn.execute(
                "UPDATE outbox SET due = ?, claim = ? WHERE id = ?", (now + lease, token, item.id)
            )
            taken.append(_with(item, due=now + lease, claim=token))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return taken


def _with(item: Outgoing, **changes: Any) -> Outgoing:
    values = {f.name: getattr(item, f.name) for f in fields(Outgoing)}
    return Outgoing(**{**values, **changes})


def finish(conn: sqlite3.Connection, item: Outgoing) -> bool:
    cur = conn.execute(
        "UPDATE outbox SET status = ?, attempts = ?, due = ?, done = ?, detail = ?, claim = '' "
        "WHERE id = ? AND claim = ?",
        (item.status, item.attempts, item.due, item.done, item.detail, item.id, item.claim),
    )
    return cur.rowcount > 0


def prune(conn: sqlite3.Connection, since: float, batch: int) -> int:
    """Forget up to `batch` items sent or given up before `since`; pending ones stay.

    A pending item's `done` is 0, below the range the index is read in."""
    return conn.execute(
        "DELETE FROM outbox WHERE id IN "
        "(SELECT id FROM outbox WHERE done > 0 AND done < ? AND status != 'pending' LIMIT ?)",
        (since, batch),
    ).rowcount


def release_notes(conn: sqlite3.Connection, conversation: str, url: str, text: str) -> bool:
    """A transcription came: the notes waiting for it are due now (unless one is being sent)."""
    cur = conn.execute(
        "UPDATE outbox SET transcription = ?, due = CASE WHEN claim = '' THEN min(due, ?) "
        "ELSE due END WHERE kind = 'note' AND status = 'pending' AND conversation = ? "
        "AND (recording = ? OR ? = '')",
        (text, time.time(), conversation, url, url),
    )
    return cur.rowcount > 0


def outgoing(conn: sqlite3.Connection, flow: str | None, last: int) -> list[Outgoing]:
    where, args = (" WHERE flow = ?", (flow,)) if flow else ("", ())
    rows = conn.execute(f"{_SELECT}{where} ORDER BY id DESC LIMIT ?", (*args, last))
    return [_item(r) for r in rows]


def add_switch(conn: sqlite3.Connection, c: SwitchChange) -> None:
    conn.execute(
        'INSERT INTO switch_changes (name, "on", at, by, until) VALUES (?, ?, ?, ?, ?)',
        (c.name, int(c.on), c.at, c.by, c.until),
    )


def _change(row: tuple[Any, ...]) -> SwitchChange:
    return SwitchChange(name=row[0], on=bool(row[1]), at=row[2], by=row[3], until=row[4])


def switches(conn: sqlite3.Connection) -> dict[str, SwitchChange]:
    rows = conn.execute(
        'SELECT name, "on", at, by, until FROM switch_changes WHERE id IN '
        "(SELECT max(id) FROM switch_changes GROUP BY name) ORDER BY name"
    )
    return {r[0]: _change(r) for r in rows}


def switch_history(conn: sqlite3.Connection, name: str | None, last: int) -> list[SwitchChange]:
    where, args = (" WHERE name = ?", (name,)) if name else ("", ())
    rows = conn.execute(
        f'SELECT name, "on", at, by, until FROM switch_changes{where} ORDER BY id DESC LIMIT ?',
        (*args, last),
    )
    return [_change(r) for r in rows]


class SQLiteOutbox:
    """The store's methods for the outbox, switches and languages (mixed into `SQLiteStore`)."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError  # the store's own

    def language_of(self, flow: str, number: str) -> str:
        return language_of(self._conn(), flow, number)

    def claim_outgoing(self, now: float, lease: float, limit: int) -> list[Outgoing]:
        return claim(self._conn(), now, lease, limit)

    def finish_outgoing(self, item: Outgoing) -> bool:
        return finish(self._conn(), item)

    def outgoing(self, flow: str | None = None, last: int = 20) -> list[Outgoing]:
        return outgoing(self._conn(), flow, last)

    def switches(self) -> dict[str, SwitchChange]:
        return switches(self._conn())

    def set_switch(self, change: SwitchChange) -> None:
        add_switch(self._conn(), change)

    def switch_history(self, name: str | None = None, last: int = 20) -> list[SwitchChange]:
        return switch_history(self._conn(), name, last)
