"""What a step writes beside the session: messages kept, texts and notes to send, switches.

The engine decides them as outputs; here they become the records the store writes in the same
atomic update as the session, so that a webhook that answered (or a text conversation begun by
`ivr text` or the API) has kept them for good, and the delivery task sends them afterwards.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import replace

from ivr.engine import machine as engine
from ivr.engine.session import Session
from ivr.flow.model import Flow
from ivr.store.base import Effects, LanguageChoice, MessageRecord, Outgoing, SwitchChange

TRANSCRIPTION_WAIT = 120.0  # seconds a note waits for the recording's transcription


def flow_zone(flow: Flow | None) -> dt.tzinfo:
    """The flow's time zone: that of its first opening hours, else the server's own."""
    zones = [h.timezone for h in flow.hours.values()] if flow else []
    if zones:
        return zoneinfo.ZoneInfo(zones[0])
    local = dt.datetime.now().astimezone().tzinfo
    return local or dt.UTC


def who(session: Session) -> str:
    """How a switch change names the conversation that made it."""
    if session.channel == "voice":
        return f"call {session.key} from {session.caller or 'an unknown number'}"
    return f"text conversation with {session.caller}"


# The outputs that become records beside the session; most steps have none.
KEPT = (engine.KeepMessage, engine.SendText, engine.Notify, engine.FlipSwitch, engine.KeepLanguage)


def effects_of(
    session: Session | None,
    outputs: Sequence[engine.Output],
    flow: Flow | None,
    now: Callable[[], dt.datetime],
) -> Effects:
    if session is None or not any(isinstance(out, KEPT) for out in outputs):
        return Effects()
    at = now().timestamp()
    messages: list[MessageRecord] = []
    outbox: list[Outgoing] = []
    switches: list[SwitchChange] = []
    languages: list[LanguageChoice] = []
    for out in outputs:
        if isinstance(out, engine.KeepMessage):
            messages.append(
                MessageRecord(
                    flow=session.flow,
                    caller=session.caller,
                    called=session.called,
                    conversation=session.key,
                    state=out.state,
                    at=at,
                    url=out.url,
                    duration=out.duration,
                    text=out.text,
                    media=out.media,
                )
            )
        elif isinstance(out, engine.SendText):
            outbox.append(
                Outgoing(
                    channel="sms",
                    to=out.to,
                    body=out.body,
                    sender=out.sender,
                    flow=session.flow,
                    conversation=session.key,
                    state=out.state,
                    created=at,
                    due=at,
                )
            )
        elif isinstance(out, engine.Notify) and messages:
            outbox += notes(session, out, messages[-1], flow, at)
        elif isinstance(out, engine.FlipSwitch):
            switches.append(SwitchChange(out.name, out.on, at, who(session)))
        elif isinstance(out, engine.KeepLanguage) and session.caller:
            languages.append(LanguageChoice(session.flow, session.caller, out.language, at))
    return Effects(messages, outbox, switches, languages)


def notes(
    session: Session, out: engine.Notify, kept: MessageRecord, flow: Flow | None, at: float
) -> list[Outgoing]:
    """One note per person to tell, due at once, or when the transcription comes."""
    when = dt.datetime.fromtimestamp(kept.at, flow_zone(flow)).strftime("%a %d %b %Y %H:%M %Z")
    caller = session.caller or "an unknown number"
    if kept.url:
        what = "Voicemail"
        facts = f"{what} on {session.flow} from {caller}, {when}, {kept.duration} seconds."
    else:
        what = "Message"
        media = "".join(f"\nPicture: {url}" for url in kept.media)
        facts = f'{what} on {session.flow} from {caller}, {when}:\n"{kept.text}"{media}'
    due = at + TRANSCRIPTION_WAIT if out.wait and kept.url else at
    common = Outgoing(
        channel="sms",
        to="",
        body=facts,
        kind="note",
        sender=session.called,
        subject=f"{what} from {caller} ({session.flow})",
        flow=session.flow,
        conversation=session.key,
        state=out.state,
        recording=kept.url,
        created=at,
        due=due,
    )
    found = [replace(common, to=number) for number in out.sms]
    return found + [replace(common, channel="email", to=address) for address in out.email]
