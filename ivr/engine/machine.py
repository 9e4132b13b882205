"""The engine: `step(flow, session, event, now) -> (session, outputs)`, and nothing else.

It is pure. It reads a checked flow and a session, and returns the next session and the list of
things Twilio should do. It does no I/O: the webhooks load and save sessions, render actions to
TwiML and log what the engine reports with `Log`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ivr.engine import hold, waits
from ivr.engine.enter import MAX_HOPS, enter
from ivr.engine.events import (
    Effect,
    Event,
    FetchRequest,
    FlipSwitch,
    KeepLanguage,
    KeepMessage,
    Log,
    Notify,
    Output,
    SendText,
)
from ivr.engine.run import APOLOGY, DEFAULT_NO_INPUT, DEFAULT_NO_MATCH, GOODBYE, Run
from ivr.engine.session import Session
from ivr.flow.model import FetchState, Flow

__all__ = [
    "APOLOGY",
    "DEFAULT_NO_INPUT",
    "DEFAULT_NO_MATCH",
    "GOODBYE",
    "MAX_HOPS",
    "Effect",
    "Event",
    "FetchRequest",
    "FlipSwitch",
    "KeepLanguage",
    "KeepMessage",
    "Log",
    "Notify",
    "Output",
    "SendText",
    "close",
    "pending_fetch",
    "step",
]


def step(
    flow: Flow,
    session: Session,
    event: Event,
    now: dt.datetime,
    switches: Mapping[str, bool] | None = None,
) -> tuple[Session, list[Output]]:
    """Advance `session` by `event`; return the new session and what to do.

    `switches` are the values of the switches the flow reads (`flow.switches`); one not given
    is off.
    """
    if event.kind == "hangup":
        return close(session, event.status, now), []
    run = Run(flow, session.evolve(updated=now.timestamp()), now, switches=switches or {})
    kind, waiting = event.kind, session.waiting
    if kind == "start":
        run.session = run.session.evolve(started=now.timestamp())
        enter(run, flow.start, first_text=event.text if run.sms and event.text else None)
    elif kind == "hold":  # asked on every turn of the hold music: never a repeat of the state
        hold.holding(run, event)
    elif session.ended and kind == "queued" and event.status == "hangup":
        pass  # the caller hung up on hold: the status callback came before the queue's action
    elif session.ended:
        run.out.append(Log("warning", "a webhook came for a conversation that has ended"))
        run.end(session.outcome or "completed")
    elif waiting == "answer" and kind == "answer":
        waits.answered(run, event)
    elif waiting == "answer" and kind == "no_input":
        waits.silent(run)
    elif waiting == "record" and kind in ("record", "answer"):
        waits.recorded(run, event)
    elif waiting == "dial" and kind == "dial":
        waits.dialed(run, event)
    elif waiting == "queue" and kind == "queued":
        hold.dequeued(run, event)
    elif waiting == "fetch" and kind == "fetched" and event.reply is not None:
        waits.fetched(run, event.reply)
    else:  # a repeat, or an event this wait doesn't take (a late or doubled webhook)
        waits.repeat(run)
    return run.session, run.out


def pending_fetch(flow: Flow, session: Session) -> FetchRequest | None:
    """The request a conversation waits on, as `step` asked for it (None when it waits on none)."""
    state = flow.states.get(session.state)
    if session.waiting != "fetch" or session.ended or not isinstance(state, FetchState):
        return None
    return FetchRequest(state.name, session.seq, state.fetch, {**flow.vars, **session.vars})


def close(session: Session, outcome: str, now: dt.datetime) -> Session:
    """End a conversation from outside (the caller hung up, the texter sent STOP)."""
    if session.ended:
        return session
    run = Run(_NO_FLOW, session.evolve(updated=now.timestamp()), now)
    run.end(outcome or "completed", hangup=False)
    return run.session


_NO_FLOW = Flow(name="", states={}, start="")
