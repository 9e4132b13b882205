"""Stores: where conversations are kept. Pick one with a URL (`open_store`)."""

from __future__ import annotations

from ivr.store.base import MessageRecord, Retention, Store, StoreError


def open_store(url: str, retention: Retention | None = None) -> Store:
    """`sqlite:///path/to/file.db` (or a bare path), `memory://`, or `redis://host:port/db`.

    Also `rediss://` (TLS) and `redis://:password@host:port/db`; `?max_connections=N` bounds
    the Redis connections of each process.
    """
    if url.startswith("memory:"):
        from ivr.store.memory import MemoryStore

        return MemoryStore(retention)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from ivr.store.redis import RedisStore

        return RedisStore(url, retention)
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    path = path.removeprefix("sqlite:")
    from ivr.store.sqlite import SQLiteStore

    return SQLiteStore(path, retention)


__all__ = ["MessageRecord", "Retention", "Store", "StoreError", "open_store"]
