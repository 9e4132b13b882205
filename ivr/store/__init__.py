"""Stores: where conversations are kept. Pick one with a URL (`open_store`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ivr.settings import redacted
from ivr.store.base import MessageRecord, Retention, Store, StoreError

# What a store that went away raises: its own error, the database's, or the file system's.
STORE_ERRORS = (StoreError, sqlite3.Error, OSError)


def unusable(url: str, exc: BaseException) -> str:
    """The one line saying why the store at `url` can't be used, without its password."""
    return f"the store {redacted(url)} can't be used: {exc}"


def open_store(url: str, retention: Retention | None = None, *, existing: bool = False) -> Store:
    """`sqlite:///path/to/file.db` (or a bare path), `memory://`, or `redis://host:port/db`.

    Also `rediss://` (TLS) and `redis://:password@host:port/db`; `?max_connections=N` bounds
    the Redis connections of each process. With `existing`, a SQLite file that isn't there
    is a `StoreError` naming where it was looked for, instead of a new, empty database: for the
    commands that only read one, run from another folder.
    """
    if url.startswith("memory:"):
        from ivr.store.memory import MemoryStore

        return MemoryStore(retention)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from ivr.store.redis import RedisStore

        return RedisStore(url, retention)
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    path = path.removeprefix("sqlite:")
    if existing and path != ":memory:" and not Path(path).is_file():
        raise StoreError(
            f"there is no database at {Path(path).resolve()}: run this in the folder `ivr serve` "
            "runs in, or give its store with --store or IVR_STORE"
        )
    from ivr.store.sqlite import SQLiteStore

    return SQLiteStore(path, retention)


__all__ = [
    "STORE_ERRORS",
    "MessageRecord",
    "Retention",
    "Store",
    "StoreError",
    "open_store",
    "unusable",
]
