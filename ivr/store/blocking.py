"""Blocking methods for a store whose work is all async (the Redis store).

The command line, the tools and the tests call a store from plain code, sometimes from a thread
that runs an event loop already. So the async methods run on an event loop of the store's own,
in a thread of its own, and the caller waits for their result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ivr.engine.session import Session
from ivr.store.base import Change, EffectsOf, T

R = TypeVar("R")


class Blocking:
    _own_loop: asyncio.AbstractEventLoop | None = None
    _own_thread: threading.Thread | None = None
    _own_lock = threading.Lock()

    def _run(self, work: Coroutine[Any, Any, R]) -> R:
        with self._own_lock:
            if self._own_loop is None:
                self._own_loop = asyncio.new_event_loop()
                self._own_thread = threading.Thread(
                    target=self._own_loop.run_forever, name="ivr-store", daemon=True
                )
                self._own_thread.start()
            loop = self._own_loop
        return asyncio.run_coroutine_threadsafe(work, loop).result()

    async def _do(self, command: Callable[[Any], Awaitable[Any]], retry: bool = True) -> Any:
        """Run `command` on the current loop's client (the store's own)."""
        raise NotImplementedError

    def _stop_own_loop(self) -> None:
        with self._own_lock:
            loop, thread, self._own_loop = self._own_loop, self._own_thread, None
        if loop is not None and thread is not None:
            asyncio.run_coroutine_threadsafe(self._close_on_loop(), loop).result()
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    async def _close_on_loop(self) -> None:
        """Let go of what the store opened on the current loop."""

    async def aopen(self) -> None:
        raise NotImplementedError

    def open(self) -> None:
        self._run(self.aopen())

    async def aupdate(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        raise NotImplementedError

    async def aload(self, lookup: str) -> Session | None:
        raise NotImplementedError

    async def aset_transcription(self, conversation: str, url: str, text: str) -> bool:
        raise NotImplementedError

    async def aset_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        raise NotImplementedError

    async def aopted_out(self, number: str, ours: str = "") -> bool:
        raise NotImplementedError

    def update(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        return self._run(self.aupdate(lookup, change, ttl, effects))

    def load(self, lookup: str) -> Session | None:
        return self._run(self.aload(lookup))

    def set_transcription(self, conversation: str, url: str, text: str) -> bool:
        return self._run(self.aset_transcription(conversation, url, text))

    def set_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        self._run(self.aset_opt_out(number, ours, opted_out))

    def opted_out(self, number: str, ours: str = "") -> bool:
        return self._run(self.aopted_out(number, ours))
