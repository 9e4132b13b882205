"""The voice webhooks: an incoming call, its answers, recordings, dials and status callbacks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ivr.engine import actions as act
from ivr.engine import machine as engine
from ivr.engine.session import Session
from ivr.web import twiml as render
from ivr.web.webhook import (
    StepResult,
    advance,
    base_url,
    current_flow,
    now,
    run_step,
    services,
    signed_form,
)

log = logging.getLogger("ivr.web.voice")
SORRY = "Sorry, this call can't go on. Please call again. Goodbye."
FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}


def twiml(body: str) -> Response:
    return Response(body, media_type="application/xml")


def apology() -> Response:
    return twiml(render.voice([act.Say(SORRY), act.Hangup()], ""))


def _call_sid(form: FormData) -> str:
    sid = str(form.get("CallSid") or "")
    if not sid:
        raise HTTPException(400, "The request has no CallSid.")
    return sid


Handler = Callable[[Request], Awaitable[Response]]


def guarded(handler: Handler) -> Handler:
    """An unexpected error still answers Twilio with a spoken apology, and is logged."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except HTTPException:
            raise
        except Exception:
            sid = request.scope.get("ivr.call_sid", "?")
            found = await _safe_load(request, sid)
            log.exception(
                "voice webhook failed (flow %s, state %s, call %s)",
                request.path_params.get("flow", "?"),
                found.state if found else "?",
                sid,
            )
            return apology()

    return wrapper


async def _safe_load(request: Request, sid: str) -> Session | None:
    try:
        return await run_in_threadpool(services(request).store.load, sid)
    except Exception:
        return None


@guarded
async def incoming(request: Request) -> Response:
    """`POST /voice/{flow}`: a call arrives (or an outbound call is answered)."""
    form = await signed_form(request)
    flow = current_flow(request)
    sid = _call_sid(form)
    request.scope["ivr.call_sid"] = sid
    svc = services(request)
    caller, called = str(form.get("From") or ""), str(form.get("To") or "")
    outbound = str(form.get("Direction") or "").startswith("outbound")
    if outbound:  # for a call we placed, the person is the one we called
        caller, called = called, caller

    def start(before: Session | None) -> StepResult:
        if before is not None and before.state:  # Twilio asked twice: say the same again
            return run_step(svc.registry, before, engine.Event("repeat"))
        preset = before.vars if before else {}
        session = Session(
            key=sid,
            flow=flow.name,
            version=before.version if before else flow.version,
            channel="voice",
            caller=caller,
            called=called,
            vars={**preset, "caller": caller, "called": called, "channel": "voice"},
        )
        return run_step(svc.registry, session, engine.Event("start"))

    outcome = await advance(request, sid, svc.settings.voice_session_ttl, start)
    return _respond(request, outcome.outputs, outcome.flow is not None)


def _respond(request: Request, outputs: list[engine.Output], found: bool) -> Response:
    if not found:
        return apology()
    name = request.path_params["flow"]
    acts = [o for o in outputs if not isinstance(o, engine.Effect)]
    return twiml(render.voice(acts, base_url(request, "voice", name)))


def _event(kind: str, form: FormData) -> engine.Event:
    if kind == "gather":
        speech = str(form.get("SpeechResult") or "")
        digits = str(form.get("Digits") or "")
        if speech.strip():
            return engine.Event("answer", text=speech, input="speech")
        if digits:
            return engine.Event("answer", text=digits, input="keys")
        return engine.Event("no_input")
    if kind == "record":
        url = str(form.get("RecordingUrl") or "")
        try:
            duration = int(str(form.get("RecordingDuration") or "0"))
        except ValueError:
            duration = 0
        return engine.Event("record", url=url, duration=duration)
    return engine.Event("dial", status=str(form.get("DialCallStatus") or ""))


async def _callback(request: Request, kind: str) -> Response:
    form = await signed_form(request)
    current_flow(request)
    sid = _call_sid(form)
    request.scope["ivr.call_sid"] = sid
    svc = services(request)
    event = _event(kind, form)
    try:
        seq = int(request.query_params.get("seq", "-1"))
    except ValueError:
        seq = -1

    def on_event(before: Session | None) -> StepResult:
        if before is None:
            return None, [], None
        stale = seq != before.seq
        return run_step(svc.registry, before, engine.Event("repeat") if stale else event)

    outcome = await advance(request, sid, svc.settings.voice_session_ttl, on_event)
    if outcome.session is None:
        log.warning(
            "a %s webhook came for call %s, which this server doesn't know (expired, "
            "or lost in a restart on the memory store)",
            kind,
            sid,
        )
    return _respond(request, outcome.outputs, outcome.flow is not None)


@guarded
async def gathered(request: Request) -> Response:
    return await _callback(request, "gather")


@guarded
async def recorded(request: Request) -> Response:
    return await _callback(request, "record")


@guarded
async def dialed(request: Request) -> Response:
    return await _callback(request, "dial")


@guarded
async def transcription(request: Request) -> Response:
    """Twilio's transcription callback: fill in the text of the kept recording."""
    form = await signed_form(request)
    sid = request.scope["ivr.call_sid"] = str(form.get("CallSid") or "")
    text = str(form.get("TranscriptionText") or "")
    url = str(form.get("RecordingUrl") or "")
    found = await run_in_threadpool(services(request).store.set_transcription, sid, url, text)
    if not found:
        log.warning("a transcription came for a recording this server doesn't know (call %s)", sid)
    return Response(status_code=204)


@guarded
async def status(request: Request) -> Response:
    """The call's status callback: a final status closes the session."""
    form = await signed_form(request)
    sid = request.scope["ivr.call_sid"] = _call_sid(form)
    call_status = str(form.get("CallStatus") or "")
    if call_status in FINAL_STATUSES:
        svc = services(request)

        def close(before: Session | None) -> StepResult:
            if before is None:
                return None, [], None
            return engine.close(before, call_status, now()), [], None

        await advance(request, sid, svc.settings.voice_session_ttl, close)
    return Response(status_code=204)
