"""Stores: where conversations are kept. Pick one with a URL (`open_store`)."""

from __future__ import annotations

from ivr.store.base import MessageRecord, Store


def open_store(url: str) -> Store:
    """`sqlite:///path/to/file.db` (or a bare path), `memory://`, or `redis://host:port/db`."""
    if url.startswith("memory:"):
        from ivr.store.memory import MemoryStore

        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from ivr.store.redis import RedisStore

        return RedisStore(url)
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    path = path.removeprefix("sqlite:")
    from ivr.store.sqlite import SQLiteStore

    return SQLiteStore(path)


__all__ = ["MessageRecord", "Store", "open_store"]
