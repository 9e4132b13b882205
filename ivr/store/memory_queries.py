"""The console's queries on the memory store."""

from __future__ import annotations

import threading
from collections import deque

from ivr.engine.session import Session
from ivr.store.base import MessageRecord
from ivr.store.queries import Filters, Handled, OptOut, newest


class MemoryQueries:
    _lock: threading.Lock
    _history: dict[tuple[str, str, float], tuple[Session, float]]
    _messages: deque[MessageRecord]
    _opt_outs: dict[tuple[str, str], bool]
    _opt_out_times: dict[tuple[str, str], float]
    _handled: dict[int, Handled]

    def conversations(self, filters: Filters, last: int = 100) -> list[Session]:
        with self._lock:
            return newest([s for s, _ in self._history.values()], filters, last)

    def conversation(self, key: str) -> Session | None:
        with self._lock:
            found = (s for s, _ in reversed(self._history.values()) if s.key == key)
            return next(found, None)

    def message(self, message_id: int) -> MessageRecord | None:
        with self._lock:
            return next((m for m in self._messages if m.id == message_id), None)

    def set_handled(self, message_id: int, by: str, at: float) -> None:
        with self._lock:
            if by:
                self._handled[message_id] = Handled(by, at)
            else:
                self._handled.pop(message_id, None)

    def handled(self, message_ids: list[int]) -> dict[int, Handled]:
        with self._lock:
            return {i: self._handled[i] for i in message_ids if i in self._handled}

    def opt_outs(self) -> list[OptOut]:
        with self._lock:
            found = [
                OptOut(number, ours, self._opt_out_times.get((number, ours), 0.0))
                for (number, ours), out in self._opt_outs.items()
                if out
            ]
        return sorted(found, key=lambda o: o.at, reverse=True)
