"""The memory store: for tests and trying things out. Everything is gone at a restart."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

from ivr.engine.session import Session
from ivr.store.base import Change, EffectsOf, MessageRecord, Outgoing, SwitchChange, T
from ivr.store.memory_queries import MemoryQueries
from ivr.store.queries import Handled


class MemoryStore(MemoryQueries):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[str, tuple[Session, float]] = {}  # lookup -> (session, expires)
        self._history: list[Session] = []
        self._history_index: dict[tuple[str, str, float], int] = {}
        self._messages: list[MessageRecord] = []
        self._opt_outs: dict[tuple[str, str], bool] = {}
        self._flows: dict[str, tuple[str, str]] = {}
        self._outbox: list[Outgoing] = []
        self._switch_changes: list[SwitchChange] = []
        self._opt_out_times: dict[tuple[str, str], float] = {}
        self._handled: dict[int, Handled] = {}

    def _live_session(self, lookup: str) -> Session | None:
        entry = self._live.get(lookup)
        if entry is None or entry[1] <= time.time():
            return None
        return entry[0]

    def update(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        with self._lock:
            before = self._live_session(lookup)
            after, result = change(before)
            if effects is not None:
                done = effects(result)
                for message in done.messages:
                    self._messages.append(replace(message, id=len(self._messages) + 1))
                for item in done.outbox:
                    self._outbox.append(replace(item, id=len(self._outbox) + 1))
                self._switch_changes.extend(done.switches)
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

    def update_now(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> tuple[bool, T | None]:
        """`update`, which never waits long here: the lock is held for microseconds."""
        return True, self.update(lookup, change, ttl, effects)

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
            released = self._release_notes(conversation, url, text)
            for candidates in (
                [i for i, m in enumerate(self._messages) if url and m.url == url],
                [i for i, m in enumerate(self._messages) if m.conversation == conversation],
            ):
                if candidates:
                    i = candidates[-1]
                    self._messages[i] = replace(self._messages[i], transcription=text)
                    return True
            return released

    def _release_notes(self, conversation: str, url: str, text: str) -> bool:
        now, released = time.time(), False
        for i, item in enumerate(self._outbox):
            if (
                item.status == "pending"
                and item.kind == "note"
                and item.conversation == conversation
                and (item.recording == url or not url)
            ):
                released = True
                # A claimed note is being sent right now: it goes as it is.
                due = item.due if item.claim else min(item.due, now)
                self._outbox[i] = replace(item, transcription=text, due=due)
        return released

    def messages(self, flow: str | None = None, last: int = 20) -> list[MessageRecord]:
        with self._lock:
            found = [m for m in self._messages if flow is None or m.flow == flow]
        return found[::-1][:last]

    def set_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        with self._lock:
            self._opt_outs[(number, ours)] = opted_out
            self._opt_out_times[(number, ours)] = time.time()

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

    def claim_outgoing(self, now: float, lease: float, limit: int) -> list[Outgoing]:
        taken: list[Outgoing] = []
        with self._lock:
            for i, item in enumerate(self._outbox):
                if len(taken) >= limit:
                    break
                if item.status == "pending" and item.due <= now:
                    item = self._outbox[i] = replace(item, due=now + lease, claim=uuid.uuid4().hex)
                    taken.append(item)
        return taken

    def finish_outgoing(self, item: Outgoing) -> bool:
        with self._lock:
            i = item.id - 1
            if not 0 <= i < len(self._outbox) or self._outbox[i].claim != item.claim:
                return False
            kept = self._outbox[i]
            self._outbox[i] = replace(item, transcription=kept.transcription, claim="")
            return True

    def outgoing(self, flow: str | None = None, last: int = 20) -> list[Outgoing]:
        with self._lock:
            found = [o for o in self._outbox if flow is None or o.flow == flow]
        return found[::-1][:last]

    def switches(self) -> dict[str, SwitchChange]:
        with self._lock:
            return {c.name: c for c in self._switch_changes}

    def set_switch(self, change: SwitchChange) -> None:
        with self._lock:
            self._switch_changes.append(change)

    def switch_history(self, name: str | None = None, last: int = 20) -> list[SwitchChange]:
        with self._lock:
            found = [c for c in self._switch_changes if name is None or c.name == name]
        return found[::-1][:last]

    def close(self) -> None:
        pass
