"""The SQLite store's messages: recordings and texts kept for the office."""

from __future__ import annotations

import json
import sqlite3

from ivr.store.base import MessageRecord

COLUMNS = "flow, caller, called, conversation, state, at, url, duration, text, media, transcription"


def add(conn: sqlite3.Connection, m: MessageRecord) -> None:
    conn.execute(
        "INSERT INTO messages (flow, caller, called, conversation, state, at, url, duration,"
        " text, media, transcription) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            m.flow,
            m.caller,
            m.called,
            m.conversation,
            m.state,
            m.at,
            m.url,
            m.duration,
            m.text,
            json.dumps(list(m.media)),
            m.transcription,
        ),
    )


def newest(conn: sqlite3.Connection, flow: str | None, last: int) -> list[MessageRecord]:
    sql = f"SELECT {COLUMNS}, id FROM messages"
    args: tuple[object, ...] = ()
    if flow:
        sql, args = sql + " WHERE flow = ?", (flow,)
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, last))
    return [
        MessageRecord(
            flow=r[0],
            caller=r[1],
            called=r[2],
            conversation=r[3],
            state=r[4],
            at=r[5],
            url=r[6],
            duration=r[7],
            text=r[8],
            media=tuple(json.loads(r[9] or "[]")),
            transcription=r[10],
            id=r[11],
        )
        for r in rows
    ]
