"""The memory store: for tests and trying things out. Everything is gone at a restart.

Its work takes microseconds under a lock no one holds long, so the async methods do it right
on the event loop.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import replace

from ivr.engine.session import Session
from ivr.store.base import (
    Change,
    EffectsOf,
    MessageRecord,
    Outgoing,
    Retention,
    SwitchChange,
    T,
)
from ivr.store.memory_queries import MemoryQueries
from ivr.store.queries import Handled


class MemoryStore(MemoryQueries):
    def __init__(self, retention: Retention | None = None) -> None:
        self.retention = retention or Retention()
        self._lock = threading.Lock()
        self._live: dict[str, tuple[Session, float]] = {}  # lookup -> (session, expires)
        # (lookup, key, started) -> (session, when it leaves the history)
        self._history: dict[tuple[str, str, float], tuple[Session, float]] = {}
        self._messages: deque[MessageRecord] = deque()
        self._message_id = 0
        self._opt_outs: dict[tuple[str, str], bool] = {}
        self._flows: dict[str, tuple[str, str]] = {}
        self._outbox: dict[int, Outgoing] = {}  # by id, in the order they came
        self._outbox_id = 0
        self._switch_changes: list[SwitchChange] = []
        self._opt_out_times: dict[tuple[str, str], float] = {}
        self._handled: dict[int, Handled] = {}
        self._languages: dict[tuple[str, str], str] = {}  # (flow, number) -> language
        self._presets: dict[str, tuple[Session, float]] = {}  # token -> (preset, expires)

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
                    self._add_message(message)
                for item in done.outbox:
                    self._outbox_id += 1
                    self._outbox[self._outbox_id] = replace(item, id=self._outbox_id)
                self._switch_changes.extend(done.switches)
                for choice in done.languages:
                    self._languages[(choice.flow, choice.number)] = choice.language
            if after is not None:
                now = time.time()
                keep = self.retention.history
                # An unfinished conversation stays in the history from its time-out on.
                until = now + keep if after.ended else now + ttl + keep
                self._history[(lookup, after.key, after.started)] = (after, until)
                if after.ended:
                    self._live.pop(lookup, None)
                else:
                    self._live[lookup] = (after, now + ttl)
            return result

    async def aupdate(
        self, lookup: str, change: Change[T], ttl: float, effects: EffectsOf[T] | None = None
    ) -> T:
        return self.update(lookup, change, ttl, effects)

    def load(self, lookup: str) -> Session | None:
        with self._lock:
            return self._live_session(lookup)

    async def aload(self, lookup: str) -> Session | None:
        return self.load(lookup)

    def history(self, flow: str | None = None, last: int = 20) -> list[Session]:
        with self._lock:
            found = [s for s, _ in self._history.values() if flow in (None, s.flow)]
        return sorted(found, key=lambda s: s.started, reverse=True)[:last]

    def add_message(self, message: MessageRecord) -> None:
        with self._lock:
            self._add_message(message)

    def _add_message(self, message: MessageRecord) -> None:
        self._message_id += 1
        self._messages.append(replace(message, id=self._message_id))

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

    async def aset_transcription(self, conversation: str, url: str, text: str) -> bool:
        return self.set_transcription(conversation, url, text)

    def _release_notes(self, conversation: str, url: str, text: str) -> bool:
        now, released = time.time(), False
        for i, item in self._outbox.items():
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

    async def aset_opt_out(self, number: str, ours: str, opted_out: bool) -> None:
        self.set_opt_out(number, ours, opted_out)

    def opted_out(self, number: str, ours: str = "") -> bool:
        with self._lock:
            if ours:
                return self._opt_outs.get((number, ours), False)
            return any(v for (n, _), v in self._opt_outs.items() if n == number)

    async def aopted_out(self, number: str, ours: str = "") -> bool:
        return self.opted_out(number, ours)

    def language_of(self, flow: str, number: str) -> str:
        with self._lock:
            return self._languages.get((flow, number), "")

    async def alanguage_of(self, flow: str, number: str) -> str:
        return self.language_of(flow, number)

    async def aswitches(self) -> dict[str, SwitchChange]:
        return self.switches()

    def keep_flow(self, name: str, version: str, source: str) -> None:
        with self._lock:
            self._flows.setdefault(version, (name, source))

    def flow_source(self, version: str) -> tuple[str, str] | None:
        with self._lock:
            return self._flows.get(version)

    def keep_preset(self, token: str, session: Session, ttl: float) -> None:
        with self._lock:
            self._presets[token] = (session, time.time() + ttl)

    def preset(self, token: str) -> Session | None:
        with self._lock:
            session, expires = self._presets.get(token, (None, 0.0))
        return session if expires > time.time() else None

    async def apreset(self, token: str) -> Session | None:
        return self.preset(token)

    def drop_preset(self, token: str) -> None:
        with self._lock:
            self._presets.pop(token, None)

    async def adrop_preset(self, token: str) -> None:
        self.drop_preset(token)

    def claim_outgoing(self, now: float, lease: float, limit: int) -> list[Outgoing]:
        taken: list[Outgoing] = []
        with self._lock:
            for i, item in self._outbox.items():
                if len(taken) >= limit:
                    break
                if item.status == "pending" and item.due <= now:
                    item = self._outbox[i] = replace(item, due=now + lease, claim=uuid.uuid4().hex)
                    taken.append(item)
        return taken

    def finish_outgoing(self, item: Outgoing) -> bool:
        with self._lock:
            kept = self._outbox.get(item.id)
            if kept is None or kept.claim != item.claim:
                return False
            self._outbox[item.id] = replace(item, transcription=kept.transcription, claim="")
            return True

    def outgoing(self, flow: str | None = None, last: int = 20) -> list[Outgoing]:
        with self._lock:
            found = [o for o in self._outbox.values() if flow is None or o.flow == flow]
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

    async def prune(self) -> int:
        # Opt-outs, switches and flow versions are kept for good; an outbox item is kept until
        # it is sent or given up, then as long as the messages.
        now = time.time()
        since = now - self.retention.messages
        with self._lock:
            live = [k for k, (_, expires) in self._live.items() if expires <= now]
            past = [k for k, (_, until) in self._history.items() if until <= now]
            for lookup in live:
                del self._live[lookup]
            presets = [t for t, (_, expires) in self._presets.items() if expires <= now]
            for token in presets:
                del self._presets[token]
            for ident in past:
                del self._history[ident]
            # Messages are kept in the order they came, so the old ones are all in front.
            gone = 0
            while self._messages and self._messages[0].at <= since:
                self._handled.pop(self._messages.popleft().id, None)
                gone += 1
            sent = [i for i, o in self._outbox.items() if o.status != "pending" and o.done <= since]
            for number in sent:
                del self._outbox[number]
        return len(live) + len(presets) + len(past) + gone + len(sent)

    def open(self) -> None:
        pass

    async def aopen(self) -> None:
        pass

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass
