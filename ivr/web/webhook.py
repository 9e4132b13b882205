"""What every webhook shares: read the form, check the signature, find the flow, run a step.

The data flows one way: request -> signature check -> session load -> engine step -> TwiML
render -> session save. `advance` does the middle of it inside the store's atomic update, so two
webhooks for one conversation never start from the same session.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ivr.engine import machine as engine
from ivr.engine.clock import Clock, utc_now
from ivr.engine.session import Session
from ivr.flow.model import Flow
from ivr.outbound.delivery import Delivery
from ivr.settings import Settings
from ivr.store.base import Effects, Store
from ivr.web.effects import effects_of
from ivr.web.registry import FlowRegistry
from ivr.web.signature import SignatureCheck

log = logging.getLogger("ivr.webhooks")


@dataclass
class Services:
    """What the webhooks need, built once by `create_app`."""

    settings: Settings
    registry: FlowRegistry
    store: Store
    signatures: SignatureCheck
    # The time the webhooks go by; a flow tried out or tested in-process can fix it (hours).
    clock: Clock = field(default=utc_now)
    # Sends what the outbox holds; None where nothing may be sent (simulate, conversation tests).
    delivery: Delivery | None = None


# The clock of the app serving the current request: `now()` is called deep in the step, where
# no request is at hand. Each request runs in its own task, so this never leaks between them.
_clock: ContextVar[Clock] = ContextVar("ivr_clock", default=utc_now)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


class IndexedForm(FormData):
    """A posted form that finds the values of a field at once.

    The signature check asks for the values of every field, once for each form of the URL, and
    `FormData` looks through all the fields each time: with the thirty-odd fields of a Twilio
    webhook, that was a good part of the cost of a webhook.
    """

    def __init__(self, items: list[tuple[str, str | UploadFile]]) -> None:
        super().__init__(items)
        index: dict[str, list[str | UploadFile]] = {}
        for name, value in items:
            index.setdefault(name, []).append(value)
        self._index = index

    def getlist(self, key: Any) -> list[Any]:
        return list(self._index.get(key, ()))

    # The name twilio's RequestValidator tries first (a miss costs it an exception per field).
    getall = getlist


# Starlette's limits on a urlencoded form: a body within them can't go over them.
MAX_FIELDS = 1000
MAX_PLAIN_BODY = 1024 * 1024


def plain_fields(body: bytes) -> list[tuple[str, str | UploadFile]] | None:
    """The fields of a urlencoded body of `name=value` parts joined by `&`, else None.

    That is every body Twilio posts, and reading it so takes a fraction of the time of
    Starlette's general parser, which goes through it byte by byte with callbacks. Names and
    values are decoded as it decodes them; any other body (a part without `=`, an empty part,
    too many fields) is left to Starlette, so that every form reads as it always did.
    """
    parts = body.split(b"&")
    if len(parts) > MAX_FIELDS:
        return None
    fields: list[tuple[str, str | UploadFile]] = []
    for part in parts:
        name, equals, value = part.partition(b"=")
        if not equals:
            return None
        fields.append((unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1"))))
    return fields


async def read_form(request: Request) -> IndexedForm:
    # Stricter than Starlette's reading of the header, never looser: what this takes for a
    # urlencoded form, Starlette would too.
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip(" \t").lower()
    size = request.headers.get("content-length", "")
    # Only a body of a known, bounded size is read whole; any other streams through Starlette.
    small = size.isdigit() and 0 < int(size) <= MAX_PLAIN_BODY
    if kind == "application/x-www-form-urlencoded" and small:
        fields = plain_fields(await request.body())
        if fields is not None:
            return IndexedForm(fields)
    return IndexedForm((await request.form()).multi_items())


async def signed_form(request: Request) -> FormData:
    """The posted form, if Twilio signed it: 400 for a body that doesn't parse, else 403."""
    _clock.set(services(request).clock)  # every webhook starts here
    try:
        form = await read_form(request)
    except Exception as exc:  # multipart and encoding errors have no common base class
        raise HTTPException(400, "The request body is not a form.") from exc
    if not services(request).signatures.valid(request, form):
        log.warning("refused %s: missing or wrong X-Twilio-Signature", request.url.path)
        raise HTTPException(403, "Invalid or missing Twilio signature.")
    return form


def current_flow(request: Request) -> Flow:
    name = request.path_params["flow"]
    flow = services(request).registry.current(name)
    if flow is None:
        raise HTTPException(404, f"No flow named {name!r}.")
    return flow


def base_url(request: Request, channel: str, flow: str) -> str:
    """The flow's webhook URL as Twilio sees it, for relative callbacks."""
    public = services(request).settings.public_url
    root = public or request.scope.get("root_path", "")
    return f"{root}/{channel}/{flow}"


# Between tries of a store's `update_now` while another worker holds the write lock, in
# seconds: a few turns of the event loop, then a millisecond at a time, about 50 ms in all.
RETRY_PAUSES = (0, 0, 0) + (0.001,) * 47

# What a webhook does inside the atomic update: the session to save, what to do, and the flow
# version it ran on (None when the session or its flow is gone).
StepResult = tuple[Session | None, list[engine.Output], Flow | None]
StepFn = Callable[[Session | None], StepResult]


@dataclass
class Outcome:
    session: Session | None
    outputs: list[engine.Output]
    flow: Flow | None
    effects: Effects = field(default_factory=Effects)


async def advance(request: Request, lookup: str, ttl: float, fn: StepFn) -> Outcome:
    """Run `fn` on the live session of `lookup` atomically, then keep messages and log."""
    store = services(request).store

    def change(before: Session | None) -> tuple[Session | None, Outcome]:
        after, outputs, flow = fn(before)
        return after, Outcome(after or before, outputs, flow)

    # A store that can apply the update without waiting for a lock does it right here: that is
    # cheaper than a hop to a thread and back, and a thread would hold the lock while it waits
    # for the interpreter, which the event loop keeps busy. When another worker holds the lock,
    # this worker's other webhooks go on meanwhile and this one tries again; only when that
    # keeps failing does it wait in a thread.
    # Messages kept, texts and notes to send and switches turned are written with the session.
    at = now()

    def effects(outcome: Outcome) -> Effects:
        outcome.effects = effects_of(outcome.session, outcome.outputs, outcome.flow, at)
        return outcome.effects

    outcome: Outcome | None = None
    update_now = getattr(store, "update_now", None)
    if update_now is not None:
        for pause in RETRY_PAUSES:
            _, outcome = update_now(lookup, change, ttl, effects)
            if outcome is not None:
                break
            await asyncio.sleep(pause)
    if outcome is None:
        outcome = await run_in_threadpool(store.update, lookup, change, ttl, effects)
    session = outcome.session
    delivery = services(request).delivery
    if outcome.effects.outbox and delivery is not None:
        delivery.wake()
    for out in outcome.outputs:
        if isinstance(out, engine.Log):
            level = logging.ERROR if out.level == "error" else logging.WARNING
            log.log(
                level,
                "%s (flow %s, state %s, conversation %s)",
                out.message,
                session.flow if session else "?",
                session.state if session else "?",
                lookup,
            )
    return outcome


def run_step(registry: FlowRegistry, session: Session, event: engine.Event) -> StepResult:
    """One engine step on the flow version the conversation started on."""
    flow = registry.version(session.flow, session.version)
    if flow is None:
        return None, [], None
    after, outputs = engine.step(flow, session, event, now())
    return after, outputs, flow


def now() -> dt.datetime:
    """The current time, by the clock of the app serving this request."""
    return _clock.get()()
