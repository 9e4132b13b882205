"""Async twins for a local store whose blocking methods may wait for a lock (SQLite).

Each runs its blocking method in a thread, so that the event loop goes on meanwhile, except
`aupdate`, on the path of every webhook: an update takes less time than a hop to a thread and
back, and a thread would hold the lock while it waits for the interpreter, which the event
loop keeps busy. So it is made right on the loop when the lock is free (`update_now`); when
another worker holds it, the loop's other webhooks go on meanwhile and this one tries again,
and only when that keeps failing does it wait in a thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from ivr.engine.session import Session
from ivr.store.base import Change, EffectsOf, SwitchChange, T

P = ParamSpec("P")
R = TypeVar("R")


async def in_thread(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `fn` in a thread; when cancelled, let the thread finish before the cancellation goes on.

    A thread can't be stopped, and whoever cancels the caller (the app, shutting down) closes
    the store next: closing an SQLite connection while a thread uses it crashes the process.
    """
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise


# Between tries of `update_now` while another worker holds the write lock, in seconds: a few
# turns of the event loop, then a millisecond at a time, about 50 ms in all.
RETRY_PAUSES = (0, 0, 0) + (0.001,) * 47


class InThread:
    _ready = False  # opened
    _opening = False  # being opened, by the thread that holds `_open_lock`
    _open_lock: threading.RLock

    def open(self) -> None:
        """`_open_now`, once: by the first use when nothing opened the store before."""
        with self._open_lock:  # reentrant: what opening does may come back here, to find it done
            if self._ready or self._opening:
                return
            self._opening = True
            try:
                self._open_now()
                self._ready = True
            finally:
                self._opening = False

    def _open_now(self) -> None:
        raise NotImplementedError

    async def aopen(self) -> None:
        await in_thread(self.open)

    def update(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        raise NotImplementedError

    def update_now(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> tuple[bool, T | None]:
        raise NotImplementedError

    def load(self, lookup: str) -> Session | None:
        raise NotImplementedError

    def set_transcription(self, conversation: str, url: str, text: str) -> bool:
        raise NotImplementedError

    def set_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        raise NotImplementedError

    def opted_out(self, number: str, ours: str = "") -> bool:
        raise NotImplementedError

    def prune_batch(self, now: float) -> int:
        raise NotImplementedError

    def language_of(self, flow: str, number: str) -> str:
        raise NotImplementedError

    def switches(self) -> dict[str, SwitchChange]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    async def aupdate(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        for pause in RETRY_PAUSES:
            done, result = self.update_now(lookup, change, ttl, effects)  # type: ignore[arg-type]
            if done:
                return result  # type: ignore[return-value]
            await asyncio.sleep(pause)
        return await in_thread(self.update, lookup, change, ttl, effects)

    async def aload(self, lookup: str) -> Session | None:
        return await in_thread(self.load, lookup)

    async def aset_transcription(self, conversation: str, url: str, text: str) -> bool:
        return await in_thread(self.set_transcription, conversation, url, text)

    async def aset_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        await in_thread(self.set_opt_out, number, ours, opted_out)

    async def aopted_out(self, number: str, ours: str = "") -> bool:
        return await in_thread(self.opted_out, number, ours)

    async def alanguage_of(self, flow: str, number: str) -> str:
        return await asyncio.to_thread(self.language_of, flow, number)

    async def aswitches(self) -> dict[str, SwitchChange]:
        return await in_thread(self.switches)

    async def prune(self) -> int:
        return await in_thread(self.prune_batch, time.time())

    async def aclose(self) -> None:
        self.close()
