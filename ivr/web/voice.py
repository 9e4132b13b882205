"""The voice webhooks: how a call's forms map to engine events, and its outputs to TwiML.

An incoming call, its answers, recordings and dials, and the status and transcription callbacks;
each takes the path every webhook takes (`webhook`). A call we placed names in its URLs the preset
it starts from (`?call=TOKEN`, see `ivr.outbound.start`): the incoming webhook starts the flow
with the preset's variables, and the status callback of a call never answered records it.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ivr.engine import actions as act
from ivr.engine import machine as engine
from ivr.engine.phrases import PHRASES, phrase
from ivr.engine.session import Session, new_call
from ivr.flow.model import Flow
from ivr.outbound.start import PRESET
from ivr.web import fetching
from ivr.web import twiml as render
from ivr.web.webhook import (
    Handle,
    Hook,
    StepResult,
    advance,
    base_url,
    current_flow,
    now,
    remembered,
    run_step,
    webhook,
)

log = logging.getLogger("ivr.web.voice")
SORRY = PHRASES["en"]["call_failed"]
FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
INCOMING = "incoming"  # the webhook a call's session ended in, when it was the first one


def twiml(body: str) -> Response:
    return Response(body, media_type="application/xml")


def apology(flow: Flow | None = None) -> Response:
    """The call's end when it can't go on, in the flow's first language when it is known."""
    words, language = phrase("call_failed", flow.language if flow else None)
    voice = flow.voices.get(language or "") if flow else None
    return twiml(render.voice([act.Say(words, voice, language), act.Hangup()], ""))


def _call_sid(hook: Hook) -> str:
    sid = str(hook.form.get("CallSid") or "")
    if not sid:
        raise HTTPException(400, "The request has no CallSid.")
    hook.conversation = sid
    return sid


async def _incoming(hook: Hook) -> Response:
    flow = current_flow(hook)
    sid = _call_sid(hook)
    registry, store = hook.services.registry, hook.services.store
    caller, called = str(hook.form.get("From") or ""), str(hook.form.get("To") or "")
    if str(hook.form.get("Direction") or "").startswith("outbound"):
        caller, called = called, caller  # for a call we placed, the person is the one we called
    chosen = await remembered(hook, flow, caller)
    answered_by = str(hook.form.get("AnsweredBy") or "")
    # A call placed by `ivr call` or the API names the preset it starts from in its URL.
    token = hook.request.query_params.get(PRESET, "")
    preset = await store.apreset(token) if token else None
    # Its preset is gone once the call was answered: this is Twilio asking again.
    ended = await asyncio.to_thread(store.conversation, sid) if token and not preset else None
    base = base_url(hook, "voice")

    def start(before: Session | None) -> StepResult:
        if before is not None and before.state:  # Twilio asked twice: say the same again
            return run_step(registry, before, engine.Event("repeat"))
        if ended is not None:  # ... after the call ended: the answer is kept
            return None, [], None
        variables, version = (preset.vars, preset.version) if preset else ({}, None)
        if answered_by:  # a call placed with machine detection: who (or what) picked up
            variables = {**variables, "answered_by": answered_by}
        session = new_call(flow, sid, caller, called, {**chosen, **variables}, version=version)
        after, outputs, ran = run_step(registry, session, engine.Event("start"))
        if after is not None and after.ended:  # Twilio's retry of this answer gets it again
            after = after.evolve(webhook=INCOMING, reply=render.voice(_acts(outputs, base), base))
        return after, outputs, ran

    outcome = await advance(hook, sid, hook.services.settings.voice_session_ttl, start)
    if ended is not None and outcome.session is None:
        log.info("the first webhook of call %s came again after the call ended", sid)
        kept = ended.reply if ended.webhook == INCOMING else ""
        return twiml(kept or render.voice([act.Hangup()], base))
    if preset is not None:
        await _forget(hook, token)  # the session has what it had; its status needs it no more
    elif token and ended is None:
        log.warning("call %s started without its variables: their time ran out unanswered", sid)
    return _respond(hook, outcome.outputs, outcome.flow is not None)


async def _forget(hook: Hook, token: str) -> None:
    try:
        await hook.services.store.adrop_preset(token)
    except Exception:  # it expires by itself; the call goes on
        log.warning("the preset of call %s could not be forgotten", hook.conversation)


def _respond(hook: Hook, outputs: list[engine.Output], found: bool) -> Response:
    if not found:
        return apology(hook.services.registry.current(hook.flow_name))
    base = base_url(hook, "voice")
    return twiml(render.voice(_acts(outputs, base), base))


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
        return engine.Event("record", url=url, duration=_number(form, "RecordingDuration"))
    if kind == "hold":  # the wait URL of <Enqueue>
        return engine.Event(
            "hold", position=_number(form, "QueuePosition"), waited=_number(form, "QueueTime")
        )
    if kind == "queue":  # the action URL of <Enqueue>
        status = str(form.get("QueueResult") or "")
        return engine.Event("queued", status=status, waited=_number(form, "QueueTime"))
    return engine.Event("dial", status=str(form.get("DialCallStatus") or ""))


def _number(form: FormData, name: str) -> int:
    try:
        return max(0, int(str(form.get(name) or "0")))
    except ValueError:
        return 0


def _callback(kind: str) -> Handle:
    async def handle(hook: Hook) -> Response:
        # No current flow is needed: a call goes on with the version it started on, kept in
        # the store, even when its file was deleted since (and the server restarted).
        sid = _call_sid(hook)
        registry = hook.services.registry
        try:
            seq = int(hook.request.query_params.get("seq", "-1"))
        except ValueError:
            seq = -1
        event = await _fetch_event(hook, seq) if kind == "fetch" else _event(kind, hook.form)
        webhook = f"{kind}:{seq}"
        base = base_url(hook, "voice")

        def on_event(before: Session | None) -> StepResult:
            if before is None:
                return None, [], None
            if seq != before.seq and kind == "hold":
                # A wait URL of a queue the call has left: no one should be on hold for it.
                return None, [act.Leave()], registry.version(before.flow, before.version)
            stale = seq != before.seq
            after, outputs, flow = run_step(
                registry, before, engine.Event("repeat") if stale else event
            )
            if after is not None and after.ended:
                # The answer that ends the call is kept: Twilio's retry of it gets it again.
                after = after.evolve(
                    webhook=webhook, reply=render.voice(_acts(outputs, base), base)
                )
            return after, outputs, flow

        outcome = await advance(hook, sid, hook.services.settings.voice_session_ttl, on_event)
        if outcome.session is None:
            ended = await asyncio.to_thread(hook.services.store.conversation, sid)
            if ended is not None and ended.webhook == webhook and ended.reply:
                log.info("the last %s webhook of call %s came again: answered as before", kind, sid)
                return twiml(ended.reply)
            if kind == "queue" and event.status == "hangup" and ended is not None:
                # The caller hung up on hold: the status callback came before the queue's action.
                return twiml(render.voice([], base))
            if registry.current(hook.flow_name) is None and ended is None:
                raise HTTPException(404, f"No flow named {hook.flow_name!r}.")
            log.warning(
                "a %s webhook came for call %s, which this server doesn't know (expired, "
                "or lost in a restart on the memory store)",
                kind,
                sid,
            )
        return _respond(hook, outcome.outputs, outcome.flow is not None)

    return handle


async def _fetch_event(hook: Hook, seq: int) -> engine.Event:
    # The request is made outside the store's update, which must stay short: the session is
    # read here, and the reply taken only if the call still waits on this request then.
    session = await hook.services.store.aload(hook.conversation)
    registry = hook.services.registry
    flow = registry.version(session.flow, session.version) if session else None
    wanted = engine.pending_fetch(flow, session) if flow and session else None
    if session is None or wanted is None or wanted.seq != seq:
        return engine.Event("repeat")
    reply = await fetching.perform(hook, wanted, fetching.BUDGET)
    return engine.Event("fetched", reply=reply)


def _acts(outputs: list[engine.Output], base: str) -> list[act.Action]:
    acts: list[act.Action] = []
    for out in outputs:
        if isinstance(out, engine.FetchRequest):
            # The prompts are heard first; the request is made by the webhook this leads to.
            acts.append(act.Redirect(f"{base}/fetch?seq={out.seq}"))
        elif not isinstance(out, engine.Effect):
            acts.append(out)
    return acts


async def _transcription(hook: Hook) -> Response:
    # Twilio's transcription callback: fill in the text of the kept recording.
    sid = hook.conversation = str(hook.form.get("CallSid") or "")
    text = str(hook.form.get("TranscriptionText") or "")
    url = str(hook.form.get("RecordingUrl") or "")
    found = await hook.services.store.aset_transcription(sid, url, text)
    if found:  # the notes that waited for these words are due now: the office hears at once
        hook.services.outbox_due()
    else:
        log.warning("a transcription came for a recording this server doesn't know (call %s)", sid)
    return Response(status_code=204)


async def _status(hook: Hook) -> Response:
    # The call's status callback: a final status closes the session. A call we placed that was
    # never answered has none: its preset tells who was called and with what variables.
    sid = _call_sid(hook)
    call_status = str(hook.form.get("CallStatus") or "")
    if call_status in FINAL_STATUSES:
        token = hook.request.query_params.get(PRESET, "")
        preset = await hook.services.store.apreset(token) if token else None

        def close(before: Session | None) -> StepResult:
            if before is None and preset is not None:
                before = preset.evolve(key=sid)
            if before is None:
                return None, [], None
            return engine.close(before, call_status, now()), [], None

        await advance(hook, sid, hook.services.settings.voice_session_ttl, close)
        if preset is not None:
            await _forget(hook, token)
    return Response(status_code=204)


incoming = webhook("voice", _incoming, apology)
incoming.__doc__ = "`POST /voice/{flow}`: a call arrives (or an outbound call is answered)."
gathered = webhook("voice", _callback("gather"), apology)
recorded = webhook("voice", _callback("record"), apology)
dialed = webhook("voice", _callback("dial"), apology)
held = webhook("voice", _callback("hold"), apology)
held.__doc__ = "`POST /voice/{flow}/hold`: the wait URL of a queue: what to play on hold."
dequeued = webhook("voice", _callback("queue"), apology)
dequeued.__doc__ = "`POST /voice/{flow}/queue`: the caller left the queue (Twilio's QueueResult)."
fetched = webhook("voice", _callback("fetch"), apology)
fetched.__doc__ = "`POST /voice/{flow}/fetch`: make the request the call waits on, then go on."
transcription = webhook("voice", _transcription, apology)
status = webhook("voice", _status, apology)
