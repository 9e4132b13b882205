"""Connections a worker keeps open, and how long a client may take to send its request.

uvicorn bounds requests in flight (`limit_concurrency`) and idle keep-alive connections
(`timeout_keep_alive`), but not a connection that sends half a request and waits: a thousand
of those take every file descriptor a process may open, and then nothing is answered, not even
`/health`. This protocol, uvicorn's own with two rules added, keeps that from happening:

- a request must arrive whole within `header_timeout` seconds of the connection opening (or of
  the response before it), else the connection is closed;
- a request's head (its line and headers) may take up to `MAX_HEAD` bytes;
- at `max_connections` (or below the process's file limit), a new connection makes room by
  closing the one that has waited longest without sending a whole request; only when every
  connection has a request in flight is the newcomer closed instead.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ivr.settings import Settings

log = logging.getLogger("ivr.connections")
# File descriptors kept free of connections: the store, logs, flow files, outgoing requests.
RESERVED_FDS = 100
# A request line and headers, in bytes: Twilio's are under 2 KiB.
MAX_HEAD = 64 * 1024


@dataclass
class Limits:
    max_connections: int = 1000
    header_timeout: float = 10.0


_limits = Limits()


def configure(settings: Settings) -> Limits:
    """Set the limits of this worker from the settings, within its file limit (raised first)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        # The soft limit is ours to raise to the hard one, and 1,024 is a common default.
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    most = max(1, min(settings.max_connections, soft - RESERVED_FDS))
    if most < settings.max_connections:
        log.warning(
            "at most %d connections, not %d: this process may open %d files; raise it with "
            "`ulimit -n` or LimitNOFILE= in the systemd unit",
            most,
            settings.max_connections,
            soft,
        )
    _limits.max_connections = most
    _limits.header_timeout = settings.header_timeout
    return _limits


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, with a deadline for each request and room for new clients."""

    _waiting: asyncio.TimerHandle | None = None
    _since = 0.0
    _head: int | None = 0  # bytes of the request's head so far; None once it is whole

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        full = len(self.connections) >= _limits.max_connections
        super().connection_made(transport)
        self._arm()
        if full and not _make_room(self.connections, self):
            log.warning("refused a connection: %d requests in flight", len(self.connections) - 1)
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head is not None:
            self._head += len(data)
            if self._head > MAX_HEAD:
                log.warning("closed a connection whose request head went over %d bytes", MAX_HEAD)
                self._close()

    def on_headers_complete(self) -> None:
        self._head = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._head = 0
        self._since = self.loop.time()
        self._waiting = self.loop.call_later(_limits.header_timeout, self._close)

    def _disarm(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()
            self._waiting = None

    def _close(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()


def _make_room(connections: set[Any], newcomer: GuardedHttpToolsProtocol) -> bool:
    # The connection that has waited longest for its request goes; a request in flight stays.
    waiting = [
        c
        for c in connections
        if isinstance(c, GuardedHttpToolsProtocol) and c is not newcomer and c._waiting
    ]
    if not waiting:
        return False
    oldest = min(waiting, key=lambda c: c._since)
    oldest._close()
    return True
