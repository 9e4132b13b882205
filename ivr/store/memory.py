"""The memory store: for tests and trying things out. Everything is gone at a restart."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from ivr.engine.session import Session
from ivr.store.base import Change, MessageRecord, T


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[str, tuple[Session, float]] = {}  # lookup -> (session, expires)
        self._history: list[Session] = []
        self._history_index: dict[tuple[str, str, float], int] = {}
        self._messages: list[MessageRecord] = []
        self._opt_outs: dict[tuple[str, str], bool] = {}
        self._flows: dict[str, tuple[str, str]] = {}

    def _live_session(self, lookup: str) -> Session | None:
        entry = self._live.get(lookup)
        if entry is None or entry[1] <= time.time():
            return None
        return entry[0]

    def update(self, lookup: str, change: Change[T], ttl: float) -> T:
        with self._lock:
            before = self._live_session(lookup)
            after, result = change(before)
            if after is not None:
                ident = (lookup, after.key, after.started)
                if ident in self._history_index:
                    self._history[self._history_index[ident]] = after
                else:
                    self._history_index[ident] = len(self._history)
                    self._history.append(after)
                if after.ended:
                    self._live.pop(lookup, None)
                else:
                    self._live[lookup] = (after, time.time() + ttl)
            return result

    def update_now(self, lookup: str, change: Change[T], ttl: float) -> tuple[bool, T | None]:
        """`update`, which never waits long here: the lock is held for microseconds."""
        return True, self.update(lookup, change, ttl)

    def load(self, lookup: str) -> Session | None:
        with self._lock:
            return self._live_session(lookup)

    def history(self, flow: str | None = None, last: int = 20) -> list[Session]:
        with self._lock:
            found = [s for s in self._history if flow is None or s.flow == flow]
        return sorted(found, key=lambda s: s.started, reverse=True)[:last]

    def add_message(self, message: MessageRecord) -> None:
        with self._lock:
            self._messages.append(replace(message, id=len(self._messages) + 1))

    def set_transcription(self, conversation: str, url: str, text: str) -> bool:
        with self._lock:
            for candidates in (
                [i for i, m in enumerate(self._messages) if url and m.url == url],
                [i for i, m in enumerate(self._messages) if m.conversation == conversation],
            ):
                if candidates:
                    i = candidates[-1]
                    self._messages[i] = replace(self._messages[i], transcription=text)
                    return True
            return False

    def messages(self, flow: str | None = None, last: int = 20) -> list[MessageRecord]:
        with self._lock:
            found = [m for m in self._messages if flow is None or m.flow == flow]
        return found[::-1][:last]

    def set_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        with self._lock:
            self._opt_outs[(number, ours)] = opted_out

    def opted_out(self, number: str, ours: str = "") -> bool:
        with self._lock:
            if ours:
                return self._opt_outs.get((number, ours), False)
            return any(v for (n, _), v in self._opt_outs.items() if n == number)

    def keep_flow(self, name: str, version: str, source: str) -> None:
        with self._lock:
            self._flows.setdefault(version, (name, source))

    def flow_source(self, version: str) -> tuple[str, str] | None:
        with self._lock:
            return self._flows.get(version)

    def close(self) -> None:
        pass
