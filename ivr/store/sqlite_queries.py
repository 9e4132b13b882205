"""The console's queries on the SQLite store."""

from __future__ import annotations

import json
import sqlite3

from ivr.engine.session import Session, lookups_of
from ivr.store.base import MessageRecord
from ivr.store.queries import Filters, Handled, OptOut

# Each index on `sessions` is written at every save of a session, on every webhook: one on the
# key inside the JSON parsed the whole session twice (old and new) each time, and one on
# `expires`, which every save moves, was rewritten each time. Files made before have them.
SCHEMA = """
DROP INDEX IF EXISTS sessions_key;
DROP INDEX IF EXISTS sessions_expires;
CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started);
CREATE TABLE IF NOT EXISTS messages_handled (
    id INTEGER PRIMARY KEY, by TEXT NOT NULL, at REAL NOT NULL);
"""


class SQLiteQueries:
    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError  # the store's own

    def conversations(self, filters: Filters, last: int = 100) -> list[Session]:
        where, args = ["1"], list[object]()
        f = filters
        for sql, value in (
            ("flow = ?", f.flow),
            ("? IN (json_extract(data, '$.caller'), json_extract(data, '$.called'))", f.number),
            ("json_extract(data, '$.channel') = ?", f.channel),
            ("started >= ?", f.since),
            ("started < ?", f.until),
            ("lookup = ?", f.lookup),
        ):
            if value:
                where.append(sql)
                args.append(value)
        rows = self._conn().execute(
            f"SELECT data FROM sessions WHERE {' AND '.join(where)} ORDER BY started DESC LIMIT ?",
            (*args, last),
        )
        return [Session.from_json(r[0]) for r in rows]

    def conversation(self, key: str) -> Session | None:
        row = (
            self._conn()
            .execute(
                "SELECT data FROM sessions WHERE lookup IN (?, ?) AND json_extract(data, '$.key')"
                " = ? ORDER BY started DESC LIMIT 1",
                (*lookups_of(key), key),
            )
            .fetchone()
        )
        return Session.from_json(row[0]) if row else None

    def message(self, message_id: int) -> MessageRecord | None:
        row = (
            self._conn()
            .execute(
                "SELECT flow, caller, called, conversation, state, at, url, duration, text, media,"
                " transcription, id FROM messages WHERE id = ?",
                (message_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        names = ("flow", "caller", "called", "conversation", "state", "at", "url", "duration")
        return MessageRecord(
            **dict(zip(names, row, strict=False)),
            text=row[8],
            media=tuple(json.loads(row[9] or "[]")),
            transcription=row[10],
            id=row[11],
        )

    def set_handled(self, message_id: int, by: str, at: float) -> None:
        if by:
            self._conn().execute(
                "INSERT OR REPLACE INTO messages_handled (id, by, at) VALUES (?, ?, ?)",
                (message_id, by, at),
            )
        else:
            self._conn().execute("DELETE FROM messages_handled WHERE id = ?", (message_id,))

    def handled(self, message_ids: list[int]) -> dict[int, Handled]:
        if not message_ids:
            return {}
        marks = ", ".join("?" * len(message_ids))
        rows = self._conn().execute(
            f"SELECT id, by, at FROM messages_handled WHERE id IN ({marks})", message_ids
        )
        return {r[0]: Handled(r[1], r[2]) for r in rows}

    def opt_outs(self) -> list[OptOut]:
        rows = self._conn().execute(
            "SELECT number, ours, at FROM opt_outs WHERE opted_out = 1 ORDER BY at DESC"
        )
        return [OptOut(r[0], r[1], r[2]) for r in rows]
