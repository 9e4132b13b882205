"""Ending a wait: an answer or silence in a menu or question, a recording, a dial's end, the
reply to a `fetch`.

Each finds the state the session waits in, checks what came against it, and enters the state
that follows (or asks again, up to the state's attempts).
"""

from __future__ import annotations

from typing import Literal

from ivr.engine import answers, telling
from ivr.engine.enter import choose, enter
from ivr.engine.events import Event, FlipSwitch, KeepMessage, SendText
from ivr.engine.fetching import FetchReply, kept
from ivr.engine.run import Run
from ivr.flow.model import AskState, DialState, FetchState, RecordState, State


def _current(run: Run) -> State:
    return run.flow.states[run.session.state]


def answered(run: Run, event: Event) -> None:
    state = _current(run)
    if not isinstance(state, AskState):  # a session this flow never made: enter its state again
        return repeat(run)
    said = event.text.strip()
    if event.input == "speech":
        # Recognisers end sentences with a full stop: "12345." is still 12345.
        said = said.rstrip(".!?,;: ")
    if event.media:
        media = " ".join(event.media)
        run.session = run.session.evolve(vars={**run.session.vars, "media": media})
    if not said and not event.media:
        failed(run, state, "no_input")
    elif state.choices:
        hit = answers.match(state.choices, run.flow.shortcuts, said, event.input)
        if hit:
            choose(run, state, said, hit[0].target, hit[1])
        else:
            failed(run, state, "no_match", said)
    elif shortcut := answers.exact_shortcut(run.flow.shortcuts, said, event.input):
        choose(run, state, said, shortcut.target, None)
    elif state.valid is not None and not state.valid.fullmatch(said):
        failed(run, state, "no_match", said)
    else:
        choose(run, state, said, state.next, said)


def silent(run: Run) -> None:
    state = _current(run)
    if not isinstance(state, AskState):  # a session this flow never made: enter its state again
        return repeat(run)
    failed(run, state, "no_input")


def failed(
    run: Run, state: AskState, kind: Literal["no_input", "no_match"], said: str = ""
) -> None:
    """Count a failure; ask again with the state's line for it, or go to `fail` at the limit."""
    if kind == "no_input":
        count = run.session.no_input + 1
        run.session = run.session.evolve(no_input=count)
        lines = state.no_input or run.flow.no_input
    else:
        count = run.session.no_match + 1
        run.session = run.session.evolve(no_match=count)
        lines = state.no_match or run.flow.no_match
    run.log_path(state.name, kind, said or None)
    if run.session.failures >= state.attempts:
        if state.fail:
            enter(run, state.fail)
        else:
            run.speak((run.phrase("goodbye"),))
            run.end("failed")
        return
    # Escalating, per the contract: the Nth failure of a kind gets the Nth line, the last repeats.
    sorry = run.say(lines[min(count, len(lines)) - 1]) if lines else run.phrase(kind)
    if run.sms:
        # A texter gets one reply per text: the apology and the question again together.
        run.wait(state, (sorry, *run.prompts(state)))
    else:
        run.out.append(sorry)
        run.wait(state, run.prompts(state))


def recorded(run: Run, event: Event) -> None:
    state = _current(run)
    if not isinstance(state, RecordState):  # a session this flow never made: enter its state again
        return repeat(run)
    kept = event.url or event.text or event.media
    if kept:
        run.out.append(KeepMessage(state.name, event.url, event.duration, event.text, event.media))
        telling.notify(run, state)
        if state.save:
            value = event.url or event.text
            run.session = run.session.evolve(vars={**run.session.vars, state.save: value})
    run.log_path(state.name, "record", event.url or event.text or None)
    enter(run, state.next)


def dialed(run: Run, event: Event) -> None:
    state = _current(run)
    if not isinstance(state, DialState):  # a session this flow never made: enter its state again
        return repeat(run)
    run.log_path(state.name, "dial", event.status)
    enter(run, state.next if event.status in ("completed", "answered") else state.if_no_answer)


def fetched(run: Run, reply: FetchReply) -> None:
    state = _current(run)
    if not isinstance(state, FetchState):  # a session this flow never made: enter its state again
        return repeat(run)
    run.session = run.session.evolve(vars={**run.session.vars, **kept(state.fetch, reply)})
    run.log_path(state.name, "fetch", reply.status)
    # Without `if_failed`, a failed request goes on to `next` with its variables empty.
    enter(run, state.if_failed if reply.failed and state.if_failed else state.next)


def repeat(run: Run) -> None:
    """Say the current wait again, e.g. for a webhook that arrived twice."""
    state = _current(run)
    if run.session.waiting == "answer" and isinstance(state, AskState):
        run.wait(state, run.prompts(state))
    elif run.session.waiting == "record" and isinstance(state, RecordState):
        run.start_record(state)
    else:
        done = len(run.out)
        enter(run, run.session.state)
        # Entered again only to say it again: its text went and its switches turned the first
        # time, and a webhook Twilio sent twice must not send or turn them twice.
        run.out[done:] = [o for o in run.out[done:] if not isinstance(o, SendText | FlipSwitch)]
