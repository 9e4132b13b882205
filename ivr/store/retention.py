"""Pruning a store while the server runs: what is past its retention goes, batch by batch."""

from __future__ import annotations

import asyncio
import logging

from ivr.store.base import Store

log = logging.getLogger("ivr.store")


def prune_every(store: Store) -> float:
    """Often enough that nothing stays much past its retention, at most once a minute."""
    return min(60.0, max(1.0, min(store.retention.history, store.retention.messages) / 10))


async def keep_pruning(store: Store) -> None:
    """Prune `store` now and then, until cancelled; a failure is logged and tried again later."""
    while True:
        try:
            # One batch at a time, letting the webhooks in between, until none is left.
            while await store.prune() > 0:
                await asyncio.sleep(0)
        except Exception:
            log.exception("pruning the store failed; trying again later")
        await asyncio.sleep(prune_every(store))
