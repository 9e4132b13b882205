"""Sending what the outbox holds: texts through Twilio's REST API, notes by text and email.

The webhooks only write items into the store; this task, one per worker, takes the due ones
with a lease (no other worker or host gets them meanwhile), sends them, and writes what became
of each: sent (with the message's SID or Message-ID), tried again later with a growing pause,
or given up with the reason. Items left by a server that died are taken once their lease ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from ivr.outbound import email
from ivr.outbound.rest import Refused, make_client, send_message
from ivr.settings import Settings
from ivr.store.base import Outgoing, Store
from ivr.store.threaded import in_thread

if TYPE_CHECKING:
    from twilio.rest import Client  # made only with credentials (outbound.rest)

log = logging.getLogger("ivr.delivery")
SMS_LIMIT = 1600
# Twilio refusals that sending again won't change: the number, the route, the recipient.
FINAL_CODES = {21211, 21212, 21214, 21219, 21408, 21606, 21608, 21610, 21612, 21614, 21617}


@dataclass(frozen=True)
class Timing:
    poll: float = 1.0  # seconds between looks at the outbox when nothing woke the task
    lease: float = 120.0  # longer than the slowest send (REST and SMTP time out at 30 s)
    retry: float = 10.0  # the first pause after a failure; it doubles each time
    max_retry: float = 3600.0
    attempts: int = 10  # then the item is given up


def compose(item: Outgoing) -> str:
    """The text of an item; a note gets its transcription and where to listen."""
    if item.kind != "note":
        return item.body
    tail = f"\nListen: {item.recording}" if item.recording else ""
    words = item.transcription.strip()
    if not words:
        return item.body + tail
    if item.channel == "sms":
        room = SMS_LIMIT - len(item.body) - len(tail) - len('\n""')
        if len(words) > room:
            words = words[: max(room - 1, 0)].rstrip() + "…"
    return f'{item.body}\n"{words}"{tail}'


class Delivery:
    """The outbox task of one worker: `run()` until cancelled; `wake()` when items become due."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        timing: Timing = Timing(),
        clock: Callable[[], float] = time.time,
        client: Client | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.timing = timing
        self.clock = clock
        self._wake = asyncio.Event()
        # The app's REST client; without one, one is made at the first text, or its making
        # says which credentials are missing, as the item's reason.
        self._client = client

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                while await self.send_due():
                    pass
            except Exception:  # a store that went away: log, and look again later
                log.exception("the outbox could not be read; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.timing.poll)
            self._wake.clear()

    async def send_due(self, limit: int = 10) -> int:
        """Send the items due now; how many were taken."""
        now = self.clock()
        items = await in_thread(self.store.claim_outgoing, now, self.timing.lease, limit)
        for item in items:
            result = await self._attempt(item)
            if not await in_thread(self.store.finish_outgoing, result):
                log.warning("outbox item %s was taken over by another worker", item.id)
        return len(items)

    async def _attempt(self, item: Outgoing) -> Outgoing:
        where = f"flow {item.flow}, state {item.state}, conversation {item.conversation}"
        if item.channel == "sms" and await in_thread(self.store.opted_out, item.to):
            log.info("not texting %s, who texted STOP (%s)", item.to, where)
            return self._done(item, "skipped", "opted out: the number texted STOP")
        try:
            sent = await (self._text(item) if item.channel == "sms" else self._email(item))
        except email.SendFailed as exc:
            return self._failed(item, exc.message, exc.final, where)
        except Refused as exc:
            final = exc.twilio_code in FINAL_CODES
            return self._failed(item, exc.message, final, where)
        log.info("sent %s %s to %s (%s)", item.kind, item.channel, item.to, where)
        return self._done(item, "sent", sent)

    def _done(
        self, item: Outgoing, status: Literal["sent", "failed", "skipped"], detail: str
    ) -> Outgoing:
        return replace(
            item, status=status, done=self.clock(), detail=detail, attempts=item.attempts + 1
        )

    def _failed(self, item: Outgoing, reason: str, final: bool, where: str) -> Outgoing:
        attempts = item.attempts + 1
        if final or attempts >= self.timing.attempts:
            log.error("gave up the %s to %s: %s (%s)", item.kind, item.to, reason, where)
            return replace(self._done(item, "failed", reason), attempts=attempts)
        pause = min(self.timing.retry * 2 ** (attempts - 1), self.timing.max_retry)
        log.warning(
            "the %s to %s failed, trying again in %.0f s: %s (%s)",
            item.kind,
            item.to,
            pause,
            reason,
            where,
        )
        return replace(item, attempts=attempts, due=self.clock() + pause, detail=reason)

    async def _text(self, item: Outgoing) -> str:
        if self._client is None:
            self._client = make_client(self.settings)
        body = compose(item)
        return await asyncio.to_thread(send_message, self._client, item.to, item.sender, body)

    async def _email(self, item: Outgoing) -> str:
        if not self.settings.smtp_url:
            raise email.SendFailed("IVR_SMTP_URL is not set: no mail server to send with", False)
        try:
            server = email.SmtpServer.from_url(self.settings.smtp_url)
        except ValueError as exc:
            raise email.SendFailed(str(exc), False) from exc
        sender = self.settings.email_from or "ivr@localhost"
        mail = email.message(sender, item.to, item.subject, compose(item))
        return await email.send(server, mail)
