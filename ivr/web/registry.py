"""The flows a server runs, and every version of them a live call may still be on.

Flow files are checked at start; a flow with errors stops the start. While the server runs, an
edited file is checked again before it is used (at most once a second per flow, by default): a
clean edit serves new calls at once, a broken one is logged and the version before it goes on
serving. A file added to the folder is served from the first webhook that names it, once it
loads clean.
A call always finishes on the version it started on, even after a restart, because every
version served is kept in the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from ivr.flow.loader import load_flow, load_flow_text
from ivr.flow.model import Flow
from ivr.flow.problems import format_text
from ivr.store.base import Store

log = logging.getLogger("ivr.flows")
RECHECK_SECONDS = 1.0


class FlowRegistry:
    def __init__(
        self,
        flows: Mapping[str, Flow],
        store: Store,
        watch: bool = True,
        recheck: float = RECHECK_SECONDS,
        folder: str = "",
    ) -> None:
        self._recheck = recheck
        self._folder = folder
        # A new file that didn't load, by name: its mtime, so it is read again only once edited.
        self._broken: dict[str, float] = {}
        self._store = store
        self._current = dict(flows)
        self._versions: dict[str, Flow] = {f.version: f for f in flows.values()}
        self._mtimes = {name: _mtime(f.path) for name, f in flows.items()}
        self._checked = {name: time.monotonic() for name in flows}
        self._watch = watch
        self._lock = threading.Lock()

    def keep_versions(self) -> None:
        """Keep the versions served now in the store, for the conversations begun on them to
        go on there after a restart, or in another worker: once the store is open."""
        for flow in self._current.values():
            self._store.keep_flow(flow.name, flow.version, flow.source)

    def names(self) -> list[str]:
        return sorted(self._current)

    def has(self, name: str) -> bool:
        """Whether `name` is a flow served now (without looking at the folder)."""
        return name in self._current

    def current(self, name: str) -> Flow | None:
        """The version new conversations of `name` start on (None: no such flow)."""
        flow = self._current.get(name)
        if flow is None:
            return self._added(name) if self._watch and self._folder else None
        if self._watch and flow.path:
            now = time.monotonic()
            if now - self._checked.get(name, 0.0) >= self._recheck:
                self._checked[name] = now
                flow = self._reload_if_changed(flow)
        return flow

    def _added(self, name: str) -> Flow | None:
        # A name from a URL: only a plain file name, in the flows folder itself, is looked for.
        if not name or name.startswith(".") or Path(name).name != name or "\\" in name:
            return None
        for suffix in (".yaml", ".yml"):
            path = Path(self._folder) / f"{name}{suffix}"
            mtime = _mtime(str(path))
            if mtime:
                break
        else:
            return None
        if self._broken.get(name) == mtime:
            return None
        with self._lock:
            if name in self._current:
                return self._current[name]
            fresh, problems = load_flow(path)
            if fresh is None or fresh.name != name:
                self._broken[name] = mtime
                log.error(
                    "flow file %s was added but has errors; it is served once they are fixed:\n%s",
                    path,
                    format_text(problems),
                )
                return None
            self._broken.pop(name, None)
            self._store.keep_flow(fresh.name, fresh.version, fresh.source)
            self._versions[fresh.version] = fresh
            self._current[name] = fresh
            self._mtimes[name] = mtime
            self._checked[name] = time.monotonic()
            log.info("flow %s added (version %s), from %s", name, fresh.version, path)
            return fresh

    def version(self, name: str, version: str) -> Flow | None:
        """The exact version a conversation started on, from memory or from the store."""
        flow = self._versions.get(version)
        if flow is not None:
            return flow
        kept = self._store.flow_source(version)
        if kept is None:
            return None
        loaded, problems = load_flow_text(kept[1], name=kept[0], path="")
        if loaded is None:
            log.error(
                "flow %s version %s no longer loads:\n%s", name, version, format_text(problems)
            )
            return None
        with self._lock:
            self._versions[version] = loaded
        return loaded

    def _reload_if_changed(self, flow: Flow) -> Flow:
        mtime = _mtime(flow.path)
        if mtime == self._mtimes.get(flow.name):
            return flow
        with self._lock:
            self._mtimes[flow.name] = mtime
            fresh, problems = load_flow(flow.path)
            if fresh is None:
                log.error(
                    "flow %s was edited but has errors; calls keep using the version before "
                    "the edit until it is fixed:\n%s",
                    flow.name,
                    format_text(problems),
                )
                return flow
            if fresh.version != flow.version:
                self._store.keep_flow(fresh.name, fresh.version, fresh.source)
                self._versions[fresh.version] = fresh
                self._current[flow.name] = fresh
                log.info("flow %s reloaded (version %s)", flow.name, fresh.version)
            return fresh


def _mtime(path: str) -> float:
    try:
        return Path(path).stat().st_mtime if path else 0.0
    except OSError:
        return 0.0
