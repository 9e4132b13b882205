"""Entering states: each does its `set` and its prompts, then what its kind does.

States that don't wait are chained into one reply, so entering one state may enter several,
until one waits (an answer, a recording, a dial, a queue) or the conversation ends.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from ivr.engine import actions as act
from ivr.engine import answers, telling
from ivr.engine.conditions import pick_branch
from ivr.engine.events import KeepLanguage, Log
from ivr.engine.run import Run
from ivr.flow.model import (
    AskState,
    BranchState,
    DialState,
    FetchState,
    HangupState,
    PassState,
    QueueState,
    RecordState,
    RedirectState,
    RejectState,
    State,
)

# A loop the checker missed must still end, with an apology rather than a hung webhook.
MAX_HOPS = 50


class _Stop(Enum):
    STOP = "stop"  # the state waits, or the conversation ended: no next state to enter


STOP = _Stop.STOP
Next = str | None | Literal[_Stop.STOP]


def enter(run: Run, name: str | None, first_text: str | None = None) -> None:
    """Enter state `name` (None: the conversation is done) and every state it leads to.

    `first_text` is the text that began an SMS conversation: a menu on the way answers it.
    """
    goto: Next = name
    for _ in range(MAX_HOPS):
        if goto is None:
            run.end("completed")
            return
        if goto is STOP:
            return
        goto = _enter_one(run, run.flow.states[goto], first_text)
    if goto is STOP:
        return
    message = f"state {run.session.state!r}: over {MAX_HOPS} states in a row without waiting"
    run.out.append(Log("error", f"{message}; the conversation was ended"))
    run.speak((run.phrase("apology"),))
    run.end("error")


def _enter_one(run: Run, state: State, first_text: str | None) -> Next:
    """Do one state; the state to enter next, or STOP."""
    run.session = run.session.evolve(state=state.name, no_input=0, no_match=0, waiting="")
    run.log_path(state.name, "enter")
    if state.set:
        values = {key: run.text(value) for key, value in state.set}
        chosen = values.get("language")
        changed = bool(chosen) and chosen != run.language
        run.session = run.session.evolve(vars={**run.session.vars, **values})
        if changed:
            # The path says from where on the conversation is in another language.
            run.log_path(state.name, "language", chosen)
            if run.flow.remember_language:
                run.out.append(KeepLanguage(str(chosen)))
    telling.flip(run, state)
    goto = _act(run, state, first_text)
    telling.send_text(run, state)  # after the prompts: on SMS, the next message of the reply
    return goto


def _act(run: Run, state: State, first_text: str | None) -> Next:
    """Say the state's prompts and do what its kind does."""
    # An ask says its prompts inside its gather; a reject says nothing (Twilio never answers).
    if not isinstance(state, AskState | RejectState):
        run.speak(run.prompts(state))
    match state:
        case AskState():
            return _ask(run, state, first_text)
        case PassState():
            return state.next
        case RecordState():
            run.start_record(state)
            return STOP
        case DialState():
            return _dial(run, state)
        case QueueState():
            return _queue(run, state)
        case FetchState():
            run.start_fetch(state)
            return STOP
        case BranchState():
            return pick_branch(
                state, run.flow, run.variables(), run.session.channel, run.now, run.switches
            )
        case RedirectState():
            if not run.sms:
                run.out.append(act.Redirect(state.redirect))
            run.end("redirected", hangup=False)
            return STOP
        case RejectState():
            return _reject(run, state)
        case HangupState():
            run.end("completed")
            return STOP


def _ask(run: Run, state: AskState, first_text: str | None) -> Next:
    prompts = run.prompts(state)
    if first_text is not None and state.choices:
        hit = answers.match(state.choices, run.flow.shortcuts, first_text, "text")
        if hit:
            choose(run, state, first_text, hit[0].target, hit[1])
            return STOP
    run.wait(state, prompts)
    return STOP


def _dial(run: Run, state: DialState) -> Next:
    if run.sms:  # a text can't be put through: it counts as not answered
        return state.if_no_answer
    seq = run.session.seq + 1
    run.session = run.session.evolve(waiting="dial", seq=seq)
    d = state.dial
    run.out.append(act.Connect(seq, d.numbers, d.timeout, d.caller_id, d.record, d.queue))
    return STOP


def _queue(run: Run, state: QueueState) -> Next:
    if run.sms:  # no one can be held on a text: it counts as not answered
        return state.if_no_answer
    seq = run.session.seq + 1
    run.session = run.session.evolve(waiting="queue", seq=seq, announced=-1)
    run.out.append(act.Enqueue(seq, state.queue.name))
    return STOP


def _reject(run: Run, state: RejectState) -> Next:
    # Twilio refuses a call before answering it, so nothing is said: the checks see to that.
    if run.sms:
        run.end("rejected", hangup=False)
    else:
        run.out.append(act.Reject(state.reject))
        run.session = run.session.evolve(ended=True, outcome="rejected")
    return STOP


def choose(run: Run, state: AskState, said: str, target: str | None, chosen: str | None) -> None:
    """Take an answer: keep it (and in `save`, what it chose), then enter `target`."""
    new_vars = {**run.session.vars, "answer": said}
    if state.save and chosen is not None:
        new_vars[state.save] = chosen
    run.session = run.session.evolve(vars=new_vars)
    run.log_path(state.name, "answer", said)
    enter(run, target)
