"""The path every webhook takes, voice or SMS: form -> event -> atomic advance -> outputs.

`webhook` reads the signed form (`forms`) and hands it to the channel (`voice`, `sms`), which
maps it to an engine event. `advance` loads the session, runs the step and saves the result in
one atomic update of the store, so two webhooks for one conversation never start from the same
session; the channel then renders the outputs as TwiML (`twiml`). A failure anywhere becomes the
channel's apology.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ivr.engine import machine as engine
from ivr.engine.clock import Clock, utc_now
from ivr.engine.session import Session
from ivr.flow.model import Flow
from ivr.outbound.delivery import Delivery
from ivr.outbound.fetch import Sender, send
from ivr.settings import Settings
from ivr.store import STORE_ERRORS
from ivr.store.base import Effects, Store
from ivr.store.effects import effects_of
from ivr.web.forms import signed_form
from ivr.web.metrics import Metrics
from ivr.web.registry import FlowRegistry
from ivr.web.signature import SignatureCheck

if TYPE_CHECKING:
    from twilio.rest import Client  # made only with credentials (outbound.rest)

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
    # Twilio's REST API, for the outbound API; None without credentials.
    twilio: Client | None = None
    # What sends a `fetch`: over HTTP, or a conversation test's canned replies.
    fetcher: Sender = field(default=send)
    # The counters `/metrics` shows.
    metrics: Metrics = field(default_factory=Metrics)

    def outbox_due(self) -> None:
        """Outbox items became due (written, or released by a transcription): this worker's
        delivery sends them now rather than at its next look at the outbox."""
        if self.delivery is not None:
            self.delivery.wake()


# The clock of the app serving the current request: `now()` is called deep in the step, where
# no request is at hand. Each request runs in its own task, so this never leaks between them.
_clock: ContextVar[Clock] = ContextVar("ivr_clock", default=utc_now)
# The switches the request's flow reads, looked up once per webhook, for the step to see.
NO_SWITCHES: Mapping[str, bool] = MappingProxyType({})
_switches: ContextVar[Mapping[str, bool]] = ContextVar("ivr_switches", default=NO_SWITCHES)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


@dataclass
class Hook:
    """One webhook as its channel handles it: the signed form, the flow, the services.

    The channel names the conversation as soon as its form tells it, so that a failure after
    that point is logged with it.
    """

    request: Request
    form: FormData
    services: Services
    flow_name: str
    conversation: str = "?"


Handle = Callable[[Hook], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def webhook(channel: str, handle: Handle, apology: Callable[[Flow | None], Response]) -> Endpoint:
    """The one path of every webhook: signed form, then the channel's `handle`.

    As Starlette's `request_response` wraps an endpoint in its exception handlers, this wraps
    `handle` in one of its own: whatever fails after the signature check (the store, an opt-out
    lookup, the engine) answers Twilio with the channel's `apology`, never a 500, and is logged
    once with the flow, the state and the conversation. Refusals (a bad form, a wrong
    signature, an unknown flow) stay HTTP errors, which Twilio shows in its debugger.
    """

    channel_log = logging.getLogger(f"ivr.web.{channel}")

    async def endpoint(request: Request) -> Response:
        svc = services(request)
        _clock.set(svc.clock)  # `now()` deep in the step goes by this app's clock
        form = await signed_form(request, svc.signatures)
        hook = Hook(request, form, svc, request.path_params.get("flow", "?"))
        try:
            return await handle(hook)
        except HTTPException:
            raise
        except Exception as exc:
            if isinstance(exc, STORE_ERRORS):
                svc.metrics.store_errors.inc()
            channel_log.exception(
                "%s webhook failed (flow %s, state %s, conversation %s)",
                channel,
                hook.flow_name,
                await _state(svc.store, hook.conversation),
                hook.conversation,
            )
            return apology(_flow(svc, hook.flow_name))

    return endpoint


def _flow(svc: Services, name: str) -> Flow | None:
    # The apology speaks the flow's language; a failure to find it is no new error either.
    try:
        return svc.registry.current(name)
    except Exception:
        return None


async def _state(store: Store, lookup: str) -> str:
    # The failure may be the store's own: then the state is unknown, and that is no new error.
    try:
        found = await store.aload(lookup) if lookup != "?" else None
    except Exception:
        return "?"
    return found.state if found and found.state else "?"


def current_flow(hook: Hook) -> Flow:
    name = hook.flow_name
    flow = hook.services.registry.current(name)
    if flow is None:
        raise HTTPException(404, f"No flow named {name!r}.")
    return flow


def base_url(hook: Hook, channel: str) -> str:
    """The flow's webhook URL as Twilio sees it, for relative callbacks."""
    public, flow = hook.services.settings.public_url, hook.flow_name
    root = public or hook.request.scope.get("root_path", "")
    return f"{root}/{channel}/{flow}"


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


async def advance(hook: Hook, lookup: str, ttl: float, fn: StepFn) -> Outcome:
    """Run `fn` on the live session of `lookup` atomically, then keep messages and log."""
    store = hook.services.store
    hook.conversation = lookup
    await look_up_switches(hook)

    def change(before: Session | None) -> tuple[Session | None, Outcome]:
        after, outputs, flow = fn(before)
        return after, Outcome(after or before, outputs, flow)

    # Messages kept, texts and notes to send and switches turned are written with the session.
    def effects(outcome: Outcome) -> Effects:
        outcome.effects = effects_of(outcome.session, outcome.outputs, outcome.flow, now)
        return outcome.effects

    outcome = await store.aupdate(lookup, change, ttl, effects)
    session = outcome.session
    if outcome.effects.outbox:
        hook.services.outbox_due()
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


async def remembered(hook: Hook, flow: Flow, number: str) -> dict[str, str]:
    """The variables a new conversation of `number` starts with: the language they chose last
    time in this flow, when it remembers languages and still speaks that one."""
    if not flow.remember_language or not number:
        return {}
    language = await hook.services.store.alanguage_of(flow.name, number)
    return {"language": language} if language in flow.voices else {}


async def look_up_switches(hook: Hook) -> None:
    """The values of the switches the hook's flow reads (none read: nothing looked up)."""
    flow = hook.services.registry.current(hook.flow_name)
    if flow is None or not flow.switches:
        _switches.set(NO_SWITCHES)
        return
    found = await hook.services.store.aswitches()
    at = now().timestamp()
    _switches.set({name: found[name].value(at) for name in flow.switches if name in found})


def run_step(registry: FlowRegistry, session: Session, event: engine.Event) -> StepResult:
    """One engine step on the flow version the conversation started on."""
    flow = registry.version(session.flow, session.version)
    if flow is None:
        return None, [], None
    after, outputs = engine.step(flow, session, event, now(), _switches.get())
    return after, outputs, flow


def now() -> dt.datetime:
    """The current time, by the clock of the app serving this request."""
    return _clock.get()()
