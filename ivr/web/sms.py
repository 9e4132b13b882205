"""The SMS webhook: keywords first (STOP, START, HELP), then the conversation of the number pair.

How a text maps to an engine event and its outputs to TwiML; the rest is the path every webhook
takes (`webhook`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from starlette.datastructures import FormData
from starlette.responses import Response

from ivr.engine import machine as engine
from ivr.engine.answers import normalize
from ivr.engine.phrases import PHRASES, phrase
from ivr.engine.session import Session, conversation_key, new_conversation
from ivr.flow.model import Flow
from ivr.flow.templates import render as render_template
from ivr.store.queries import Filters
from ivr.web import fetching
from ivr.web import twiml as render
from ivr.web.webhook import (
    Hook,
    StepResult,
    advance,
    current_flow,
    now,
    remembered,
    run_step,
    webhook,
)

log = logging.getLogger("ivr.web.sms")

STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit"}
START_WORDS = {"start", "unstop"}
HELP_WORDS = {"help", "info"}
DEFAULT_HELP = "Reply STOP to stop receiving messages."
# How far back a retry of a text may come: Twilio's retries come within minutes.
RETRY_WINDOW = 7 * 24 * 3600.0
SORRY = PHRASES["en"]["text_failed"]


def twiml(messages: list[str]) -> Response:
    return Response(render.sms(messages), media_type="application/xml")


def _media(form: FormData) -> tuple[str, ...]:
    try:
        count = int(str(form.get("NumMedia") or "0"))
    except ValueError:
        count = 0
    urls = (str(form.get(f"MediaUrl{i}") or "") for i in range(min(count, 10)))
    return tuple(u for u in urls if u)


async def _incoming(hook: Hook) -> Response:
    flow = current_flow(hook)
    store, registry = hook.services.store, hook.services.registry
    theirs, ours = str(hook.form.get("From") or ""), str(hook.form.get("To") or "")
    body = str(hook.form.get("Body") or "")
    media = _media(hook.form)
    lookup = hook.conversation = conversation_key(ours, theirs)
    word = normalize(body)

    if word in STOP_WORDS:
        await store.aset_opt_out(theirs, ours, True)

        def stop(before: Session | None) -> StepResult:
            return (engine.close(before, "stop", now()) if before else None), [], None

        await advance(hook, lookup, flow.sms_session_timeout, stop)
        log.info("%s opted out of texts from %s", theirs, ours)
        return twiml([])
    opted_out = await store.aopted_out(theirs, ours)
    # YES opts back in only a number that opted out: elsewhere it is an answer like any other.
    if word in START_WORDS or (word == "yes" and opted_out):
        await store.aset_opt_out(theirs, ours, False)
        log.info("%s opted back in to texts from %s", theirs, ours)
        return twiml([])
    if word in HELP_WORDS:
        language = await _language(hook, flow, lookup, theirs)
        numbers = {"caller": theirs, "called": ours, "channel": "sms"}
        said = flow.help.pick(language)[0] if flow.help else DEFAULT_HELP
        variables = {**flow.vars, **numbers, "language": language or ""}
        return twiml([render_template(said, variables)])
    if opted_out:
        # Twilio refuses to text a number that opted out; answering would only fail.
        log.info("ignored a text from %s, who opted out of %s", theirs, ours)
        return twiml([])

    sid = str(hook.form.get("MessageSid") or hook.form.get("SmsSid") or "")
    replayed: list[str] = []  # the answer given before, when this text is a retry
    checked = not sid  # whether a retry of the text that ended the last conversation was ruled out
    unchecked: list[bool] = []  # the text would start a conversation, and `checked` is False
    # The language they chose last time: only a text that starts a conversation needs it.
    chosen = None if sid else await remembered(hook, flow, theirs)

    def on_text(before: Session | None) -> StepResult:
        replayed.clear()
        unchecked.clear()
        if sid and before is not None and before.webhook == sid:
            replayed.append(before.reply)
            return None, [], None
        if before is None and (not checked or chosen is None):
            unchecked.append(True)
            return None, [], None  # first: was this the text that ended the last one?
        if before is None:
            session = new_conversation(flow, ours, theirs, now(), chosen or {})
            event = engine.Event("start", text=body, input="text", media=media)
        else:
            kind: Literal["record", "answer"] = "record" if before.waiting == "record" else "answer"
            event = engine.Event(kind, text=body, input="text", media=media)
            session = before
        after, outputs, ran = run_step(registry, session, event)
        return (stamp(after, outputs) if after is not None and sid else after), outputs, ran

    def stamp(session: Session, outputs: list[engine.Output]) -> Session:
        # The answer so far, to give a retry of this text: with a `fetch`, each step adds to it.
        return session.evolve(webhook=sid, reply=render.sms(_texts(outputs)))

    outcome = await advance(hook, lookup, flow.sms_session_timeout, on_text)
    if unchecked:
        before = await _ended(hook, lookup) if not checked else None
        if before is not None and before.webhook == sid:
            replayed.append(before.reply)
        else:
            checked, chosen = True, await remembered(hook, flow, theirs)
            outcome = await advance(hook, lookup, flow.sms_session_timeout, on_text)
    if replayed:
        log.info("text %s came again (a retry): answered as before, applied once", sid)
        return Response(replayed[0], media_type="application/xml")
    outcome = await fetching.follow(
        hook, lookup, flow.sms_session_timeout, outcome, stamp if sid else None
    )
    if outcome.flow is None:
        return apology(flow)
    return twiml(_texts(outcome.outputs))


def _texts(outputs: list[engine.Output]) -> list[str]:
    return render.sms_actions(o for o in outputs if not isinstance(o, engine.Effect))


async def _ended(hook: Hook, lookup: str) -> Session | None:
    # The newest conversation of the pair, if it has ended and began within the last week.
    since = now().timestamp() - RETRY_WINDOW
    store = hook.services.store
    found = await asyncio.to_thread(store.conversations, Filters(since=since, lookup=lookup), 1)
    return found[0] if found and found[0].ended else None


async def _language(hook: Hook, flow: Flow, lookup: str, theirs: str) -> str | None:
    """The language to answer HELP in: the conversation's, else the one remembered, else the
    flow's first."""
    live = await hook.services.store.aload(lookup)
    if live is not None and live.vars.get("language"):
        return live.vars["language"]
    return (await remembered(hook, flow, theirs)).get("language") or flow.language


def apology(flow: Flow | None = None) -> Response:
    """The reply when a text can't be answered, in the flow's first language when it is known."""
    return twiml([phrase("text_failed", flow.language if flow else None)[0]])


incoming = webhook("sms", _incoming, apology)
incoming.__doc__ = "`POST /sms/{flow}`: a text arrives."
