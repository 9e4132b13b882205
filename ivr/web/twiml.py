"""Turning the engine's actions into TwiML. The only module that knows `twilio.twiml`.

Callback URLs are built from `base`, the flow's webhook URL as Twilio sees it (a path, or the
public URL behind a proxy). The wait's sequence number rides in the query so that a callback for
an older wait can be told apart.

Most replies are the same again and again (a menu's prompt is a constant), and building one
with twilio's classes costs more than the engine's whole step, so finished replies are kept,
by what they say, and built once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.engine import actions as act
from ivr.engine.actions import split_sms

# Twilio refuses a Message body over 1,600 characters; longer replies go out in parts.
# Characters XML 1.0 can't carry at all (control characters, lone surrogates): a caller's text
# may hold them, and echoing it must still give Twilio a document it can parse.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _prompt(parent: VoiceResponse | Gather, prompt: act.Prompt) -> None:
    if isinstance(prompt, act.Say):
        attrs: dict[str, object] = {}
        if prompt.voice:
            attrs["voice"] = prompt.voice
        if prompt.language:
            attrs["language"] = prompt.language
        if prompt.loop != 1:
            attrs["loop"] = prompt.loop
        parent.say(_clean(prompt.text), **attrs)
    elif isinstance(prompt, act.Play):
        if prompt.loop != 1:
            parent.play(prompt.url, loop=prompt.loop)
        else:
            parent.play(prompt.url)
    else:
        parent.pause(length=prompt.seconds)


# Replies by the repr of their actions and base: a repr tells 1 from 1.0 and True, which
# equality doesn't, and they render differently. Bounded: when full it starts again.
_voice_replies: dict[str, str] = {}
VOICE_REPLIES_KEPT = 2048


def voice(actions: Iterable[act.Action], base: str) -> str:
    """A `<Response>` for a call, with callbacks under `base` (e.g. `/voice/support`)."""
    todo = tuple(actions)
    key = repr((todo, base))
    reply = _voice_replies.get(key)
    if reply is None:
        if len(_voice_replies) >= VOICE_REPLIES_KEPT:
            _voice_replies.clear()
        reply = _voice_replies[key] = _voice(todo, base)
    return reply


def _voice(actions: Iterable[act.Action], base: str) -> str:
    response = VoiceResponse()
    for a in actions:
        if isinstance(a, act.Say | act.Play | act.Pause):
            _prompt(response, a)
        elif isinstance(a, act.Gather):
            url = f"{base}/gather?seq={a.seq}"
            attrs: dict[str, object] = {
                "action": url,
                "method": "POST",
                "input": a.input,
                "timeout": a.timeout,
                "finish_on_key": a.finish_on_key,
            }
            if a.num_digits:
                attrs["num_digits"] = a.num_digits
            if a.hints:
                attrs["hints"] = a.hints
            if a.language:
                attrs["language"] = a.language
            gather = response.gather(**attrs)
            for prompt in a.prompts:
                _prompt(gather, prompt)
            # On silence Twilio goes on to the next verb: come back without Digits, a no-input.
            response.redirect(url, method="POST")
        elif isinstance(a, act.RecordAudio):
            url = f"{base}/record?seq={a.seq}"
            attrs = {
                "action": url,
                "method": "POST",
                "max_length": a.max_length,
                "timeout": a.timeout,
                "finish_on_key": a.finish_on_key,
                "play_beep": a.beep,
            }
            if a.transcribe:
                attrs["transcribe"] = True
                attrs["transcribe_callback"] = f"{base}/transcription"
            response.record(**attrs)
            # Twilio skips the action when nothing was recorded; go on all the same.
            response.redirect(url, method="POST")
        elif isinstance(a, act.Connect):
            attrs = {"action": f"{base}/dial?seq={a.seq}", "method": "POST", "timeout": a.timeout}
            if a.caller_id:
                attrs["caller_id"] = a.caller_id
            if a.record:
                attrs["record"] = "record-from-answer"
            dial = response.dial(**attrs)
            if a.queue:
                dial.queue(a.queue)
            for number in a.numbers:
                dial.number(number)
        elif isinstance(a, act.Enqueue):
            # Twilio asks the wait URL what to play while the caller waits, and the action URL
            # once they leave the queue (after a staff call ends, a <Leave/>, or a hang-up).
            response.enqueue(
                a.name,
                action=f"{base}/queue?seq={a.seq}",
                method="POST",
                wait_url=f"{base}/hold?seq={a.seq}",
                wait_url_method="POST",
            )
        elif isinstance(a, act.Leave):
            response.leave()
        elif isinstance(a, act.Redirect):
            response.redirect(a.url, method="POST")
        elif isinstance(a, act.Reject):
            response.reject(reason=a.reason)
        elif isinstance(a, act.Hangup):
            response.hangup()
    return str(response.to_xml())


def sms(messages: Sequence[str]) -> str:
    """A `<Response>` with one `<Message>` per text (an empty one replies nothing)."""
    response = MessagingResponse()
    for text in messages:
        for part in split_sms(text):
            response.message(_clean(part))
    return str(response.to_xml())


def sms_actions(actions: Iterable[act.Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, act.Message)]
