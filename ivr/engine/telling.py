"""Telling people and turning switches: a state's `switch`, its `text`, and the notes of `notify`.

Each is an output, like the actions for Twilio: the web layer writes it into the store with the
session, and sends it after the webhook has answered. On SMS, a `text` to the texter is simply
one more message in the reply.
"""

from __future__ import annotations

from ivr.engine import actions as act
from ivr.engine.events import FlipSwitch, Notify, SendText
from ivr.engine.run import Run
from ivr.flow.model import RecordState, State


def flip(run: Run, state: State) -> None:
    """Turn the state's switches; a branch later in the same step sees them turned."""
    for name, on in state.switch:
        run.switches = {**run.switches, name: on}
        run.out.append(FlipSwitch(name, on))


def send_text(run: Run, state: State) -> None:
    if state.text is None:
        return
    body = run.text(state.text.body.pick(run.language)[0])  # in the conversation's language
    to = run.text(state.text.to).strip() if state.text.to else run.session.caller
    sender = run.text(state.text.sender).strip() if state.text.sender else run.session.called
    if run.sms and to == run.session.caller and sender == run.session.called:
        run.out.append(act.Message(body))  # one more message in this reply
    elif body.strip() and to:
        run.out.append(SendText(state.name, body, to, sender))


def notify(run: Run, state: RecordState) -> None:
    """Tell the state's people (or the flow's) of the message the state just kept."""
    who = state.notify or run.flow.notify
    if who is None or not (who.sms or who.email):
        return
    wait = state.record.transcribe and not run.sms
    run.out.append(Notify(state.name, who.sms, who.email, wait))
