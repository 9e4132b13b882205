"""The SQLite store: one file, WAL, safe for several workers on one host.

Every update runs in a `BEGIN IMMEDIATE` transaction, which takes the database's write lock
before reading: two webhooks for the same conversation, in two threads or two processes, are
applied one after the other and never from the same starting point.

`update_now` never waits for the lock: the webhooks' `aupdate` uses it to make an update right
on the event loop (see `threaded`).

Retention: `prune` deletes what is past it in small batches, each its own short transaction,
so that a webhook never waits long for the write lock behind it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from ivr.engine.session import Session
from ivr.store import sqlite_messages as message_rows
from ivr.store import sqlite_outbox as outbox
from ivr.store import sqlite_presets as presets
from ivr.store.base import Change, EffectsOf, MessageRecord, Retention, T
from ivr.store.sqlite_file import FileWatch
from ivr.store.sqlite_outbox import SQLiteOutbox
from ivr.store.sqlite_queries import SCHEMA as QUERIES_SCHEMA
from ivr.store.sqlite_queries import SQLiteQueries
from ivr.store.threaded import InThread

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, lookup TEXT NOT NULL, flow TEXT NOT NULL, started REAL NOT NULL,
    expires REAL NOT NULL, ended INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_live ON sessions (lookup, ended);
CREATE INDEX IF NOT EXISTS sessions_flow ON sessions (flow, started);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, flow TEXT, caller TEXT, called TEXT,
    conversation TEXT, state TEXT, at REAL, url TEXT, duration INTEGER, text TEXT,
    media TEXT, transcription TEXT);
CREATE TABLE IF NOT EXISTS opt_outs (
    number TEXT NOT NULL, ours TEXT NOT NULL, opted_out INTEGER NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (number, ours));
CREATE TABLE IF NOT EXISTS flow_versions (
    version TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_at ON messages (at);
"""
log = logging.getLogger("ivr.store")
# Rows deleted per pruning transaction: a few milliseconds of holding the write lock.
PRUNE_BATCH = 200


class SQLiteStore(SQLiteQueries, SQLiteOutbox, presets.SQLitePresets, FileWatch, InThread):
    def __init__(self, path: str, retention: Retention | None = None) -> None:
        self.path = path
        self.retention = retention or Retention()
        self._local = threading.local()
        # Every thread's connections, so that `close` can close them all, not only its own.
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._open_lock = threading.RLock()
        self._file: tuple[int, int] | None = None  # the database file's (device, inode)
        self._gone_said = False
        self._next_check = 0.0  # when the file is looked at again (time.monotonic)

    def _open_now(self) -> None:
        # The tables, made if need be, and which file this is (see `_check_file`).
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn().executescript(SCHEMA + outbox.SCHEMA + QUERIES_SCHEMA + presets.SCHEMA)
        self._file = self._identity()

    def _connect(self, busy_ms: int) -> sqlite3.Connection:
        if not self._ready:
            self.open()  # a thread's first connection to a store not yet opened opens it
        self._check_file()
        # Autocommit mode: transactions are begun explicitly where they matter.
        # Each connection is used by the thread that made it only; `close` may run elsewhere.
        conn = sqlite3.connect(
            self.path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False
        )
        with self._opened_lock:
            self._opened.append(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={busy_ms}")
        return conn

    def _conn(self) -> sqlite3.Connection:
        self._check_file(time.monotonic())
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(30_000)
        return conn

    def update(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        return self._update(conn, lookup, change, ttl, effects)

    def update_now(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> tuple[bool, T | None]:
        """`update` if it needs no wait for the write lock: (True, result); else (False, None).

        For an event loop, which must not sit waiting for another process to let go of the lock.
        On (False, None) nothing was written, and the caller does the `update` where it may wait
        (`change` may then run twice: like every `Change`, it must only compute).
        """
        self._check_file(time.monotonic())
        conn: sqlite3.Connection | None = getattr(self._local, "now_conn", None)
        if conn is None:
            conn = self._local.now_conn = self._connect(0)
        try:
            conn.execute("BEGIN IMMEDIATE")
            return True, self._update(conn, lookup, change, ttl, effects)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                return False, None
            raise

    def _update(
        self,
        conn: sqlite3.Connection,
        lookup: str,
        change: Change[T],
        ttl: float,
        effects: EffectsOf[T] | None,
    ) -> T:
        """The rest of an update, once `BEGIN IMMEDIATE` holds the write lock."""
        try:
            now = time.time()
            row = conn.execute(
                "SELECT id, data FROM sessions WHERE lookup = ? AND ended = 0 AND expires > ? "
                "ORDER BY started DESC LIMIT 1",
                (lookup, now),
            ).fetchone()
            before = Session.from_json(row[1]) if row else None
            after, result = change(before)
            if after is not None:
                row_id = row[0] if row and before and after.key == before.key else None
                data = after.to_json()
                if row_id is None:
                    conn.execute(
                        "INSERT INTO sessions (id, lookup, flow, started, expires, ended, data) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            uuid.uuid4().hex,
                            lookup,
                            after.flow,
                            after.started or now,
                            now if after.ended else now + ttl,
                            int(after.ended),
                            data,
                        ),
                    )
                else:
                    conn.execute(
                        "UPDATE sessions SET expires = ?, ended = ?, data = ? WHERE id = ?",
                        (now if after.ended else now + ttl, int(after.ended), data, row_id),
                    )
            if effects is not None:
                done = effects(result)
                for message in done.messages:
                    message_rows.add(conn, message)
                outbox.write_effects(conn, done)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    def load(self, lookup: str) -> Session | None:
        row = (
            self._conn()
            .execute(
                "SELECT data FROM sessions WHERE lookup = ? AND ended = 0 AND expires > ? "
                "ORDER BY started DESC LIMIT 1",
                (lookup, time.time()),
            )
            .fetchone()
        )
        return Session.from_json(row[0]) if row else None

    def history(self, flow: str | None = None, last: int = 20) -> list[Session]:
        sql = "SELECT data FROM sessions"
        args: tuple[object, ...] = ()
        if flow:
            sql, args = sql + " WHERE flow = ?", (flow,)
        rows = self._conn().execute(sql + " ORDER BY started DESC LIMIT ?", (*args, last))
        return [Session.from_json(r[0]) for r in rows]

    def add_message(self, message: MessageRecord) -> None:
        message_rows.add(self._conn(), message)

    def set_transcription(self, conversation: str, url: str, text: str) -> bool:
        conn = self._conn()
        cur = conn.execute(
            "UPDATE messages SET transcription = ? WHERE url = ? AND url != ''", (text, url)
        )
        if cur.rowcount == 0:
            cur = conn.execute(
                "UPDATE messages SET transcription = ? WHERE id = (SELECT max(id) FROM messages "
                "WHERE conversation = ?)",
                (text, conversation),
            )
        released = outbox.release_notes(conn, conversation, url, text)
        return cur.rowcount > 0 or released

    def messages(self, flow: str | None = None, last: int = 20) -> list[MessageRecord]:
        return message_rows.newest(self._conn(), flow, last)

    def set_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        self._conn().execute(
            "INSERT INTO opt_outs (number, ours, opted_out, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (number, ours) DO UPDATE SET opted_out = excluded.opted_out, "
            "at = excluded.at",
            (number, ours, int(opted_out), time.time()),
        )

    def opted_out(self, number: str, ours: str = "") -> bool:
        sql, args = "SELECT max(opted_out) FROM opt_outs WHERE number = ?", [number]
        if ours:
            sql, args = sql + " AND ours = ?", [number, ours]
        row = self._conn().execute(sql, args).fetchone()
        return bool(row and row[0])

    def keep_flow(self, name: str, version: str, source: str) -> None:
        self._conn().execute(
            "INSERT OR IGNORE INTO flow_versions (version, name, source, at) VALUES (?, ?, ?, ?)",
            (version, name, source, time.time()),
        )

    def flow_source(self, version: str) -> tuple[str, str] | None:
        row = (
            self._conn()
            .execute("SELECT name, source FROM flow_versions WHERE version = ?", (version,))
            .fetchone()
        )
        return (row[0], row[1]) if row else None

    def prune_batch(self, now: float) -> int:
        """Delete up to a batch each of sessions, messages, sent items and expired presets."""
        conn = self._conn()
        # An ended session's `expires` is when it ended; an unfinished one's, its time-out. It
        # has no index (every save moves it): no session expires before it started, so the
        # index on `started` finds the candidates.
        past = now - self.retention.history
        sessions = conn.execute(
            "DELETE FROM sessions WHERE id IN "
            "(SELECT id FROM sessions WHERE started < ? AND expires < ? LIMIT ?)",
            (past, past, PRUNE_BATCH),
        ).rowcount
        messages = conn.execute(
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE at < ? LIMIT ?)",
            (now - self.retention.messages, PRUNE_BATCH),
        ).rowcount
        sent = outbox.prune(conn, now - self.retention.messages, PRUNE_BATCH)
        return int(sessions + messages + sent) + presets.prune(conn, now, PRUNE_BATCH)

    def close(self) -> None:
        """Close the connections of every thread that used this store."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()
