"""The engine: `step(flow, session, event, now) -> (session, actions)`, and nothing else.

It is pure. It reads a checked flow and a session, and returns the next session and the list of
things Twilio should do. It does no I/O: the webhooks load and save sessions, render actions to
TwiML and log what the engine reports with `Log`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from ivr.engine import actions as act
from ivr.engine import answers
from ivr.engine.conditions import pick_branch
from ivr.engine.events import Effect, Event, FlipSwitch, KeepMessage, Log, Notify, Output, SendText
from ivr.engine.session import Session, Step
from ivr.flow.model import Flow, State
from ivr.flow.templates import render

__all__ = [
    "Effect",
    "Event",
    "FlipSwitch",
    "KeepMessage",
    "Log",
    "Notify",
    "Output",
    "SendText",
    "close",
    "step",
]

# States that don't wait are chained into one reply; a loop the checker missed must still end.
MAX_HOPS = 50
DEFAULT_NO_INPUT = "Sorry, I didn't catch that."
DEFAULT_NO_MATCH = "Sorry, that isn't one of the options."
GOODBYE = "Goodbye."
APOLOGY = "Sorry, something went wrong on our side. Please try again later. Goodbye."


@dataclass
class _Run:
    flow: Flow
    session: Session
    now: dt.datetime
    out: list[Output] = field(default_factory=list)

    # -- helpers -------------------------------------------------------------------------
    @property
    def sms(self) -> bool:
        return self.session.channel == "sms"

    def variables(self) -> dict[str, str]:
        return {**self.flow.vars, **self.session.vars}

    def text(self, template: str) -> str:
        return render(template, self.variables())

    def log_path(self, state: str, event: str, answer: str | None = None) -> None:
        step = Step(self.now.timestamp(), state, answer, event)
        self.session = self.session.evolve(path=(*self.session.path, step))

    def end(self, outcome: str, hangup: bool = True) -> None:
        if hangup and not self.sms:
            self.out.append(act.Hangup())
        self.log_path(self.session.state, "end", outcome)
        self.session = self.session.evolve(ended=True, waiting="", outcome=outcome)

    def prompts(self, state: State) -> tuple[act.Prompt, ...]:
        items: list[act.Prompt] = []
        for p in state.say:
            if p.kind == "say":
                voice = p.voice or self.flow.voice
                language = p.language or self.flow.language
                items.append(act.Say(self.text(p.text), voice, language, p.loop))
            elif p.kind == "play":
                items.append(act.Play(p.text, p.loop))
            else:
                items.append(act.Pause(p.seconds))
        return tuple(items)

    def speak(self, prompts: tuple[act.Prompt, ...]) -> None:
        if not self.sms:
            self.out.extend(prompts)
            return
        # One text per state: the spoken parts joined; audio and pauses have no text form.
        text = " ".join(p.text for p in prompts if isinstance(p, act.Say) and p.text.strip())
        if text:
            self.out.append(act.Message(text))

    def line(self, text: str) -> act.Say:
        return act.Say(self.text(text), self.flow.voice, self.flow.language)

    # -- waiting -------------------------------------------------------------------------
    def wait(self, state: State, prompts: tuple[act.Prompt, ...]) -> None:
        seq = self.session.seq + 1
        self.session = self.session.evolve(waiting="answer", seq=seq)
        if self.sms:
            self.speak(prompts)
            return
        gather = state.gather
        listen = gather.listen if gather else "keys"
        self.out.append(
            act.Gather(
                seq=seq,
                prompts=prompts,
                input={"keys": "dtmf", "speech": "speech", "both": "dtmf speech"}[listen],
                num_digits=gather.digits if gather else None,
                timeout=gather.timeout if gather else 5,
                finish_on_key=gather.finish_on_key if gather else "#",
                hints=gather.hints if gather and listen != "keys" else None,
                language=self.flow.language if listen != "keys" else None,
            )
        )

    # -- entering states -----------------------------------------------------------------
    def enter(self, name: str | None, first_text: str | None = None) -> None:
        for _ in range(MAX_HOPS):
            if name is None:
                self.end("completed")
                return
            state = self.flow.states[name]
            self.session = self.session.evolve(state=name, no_input=0, no_match=0, waiting="")
            self.log_path(name, "enter")
            if state.set:
                values = {key: self.text(value) for key, value in state.set}
                self.session = self.session.evolve(vars={**self.session.vars, **values})
            if state.reject:
                if self.sms:
                    self.end("rejected", hangup=False)
                else:
                    self.out.append(act.Reject(state.reject))
                    self.session = self.session.evolve(ended=True, outcome="rejected")
                return
            prompts = self.prompts(state)
            if state.waits:
                if first_text is not None and state.choices:
                    hit = answers.match(state.choices, self.flow.shortcuts, first_text, "text")
                    if hit:
                        self.choose(state, first_text, hit[0].target, hit[1])
                        return
                self.wait(state, prompts)
                return
            self.speak(prompts)
            if state.record:
                self.start_record(state)
                return
            if state.dial:
                if self.sms:  # a text can't be put through: it counts as not answered
                    name = state.if_no_answer
                    continue
                seq = self.session.seq + 1
                self.session = self.session.evolve(waiting="dial", seq=seq)
                d = state.dial
                self.out.append(act.Connect(seq, d.numbers, d.timeout, d.caller_id, d.record))
                return
            if state.branch:
                name = pick_branch(
                    state, self.flow, self.variables(), self.session.channel, self.now
                )
                continue
            if state.redirect:
                if not self.sms:
                    self.out.append(act.Redirect(state.redirect))
                self.end("redirected", hangup=False)
                return
            if state.hangup:
                self.end("completed")
                return
            name = state.next
        self.out.append(
            Log(
                "error",
                f"state {self.session.state!r}: over {MAX_HOPS} states "
                "in a row without waiting; the conversation was ended",
            )
        )
        self.speak((self.line(APOLOGY),))
        self.end("error")

    def start_record(self, state: State) -> None:
        seq = self.session.seq + 1
        self.session = self.session.evolve(waiting="record", seq=seq)
        if self.sms:
            return
        r = state.record
        assert r is not None
        self.out.append(
            act.RecordAudio(seq, r.max_length, r.timeout, r.finish_on_key, r.beep, r.transcribe)
        )

    # -- answers -------------------------------------------------------------------------
    def choose(self, state: State, said: str, target: str | None, chosen: str | None) -> None:
        new_vars = {**self.session.vars, "answer": said}
        if state.save and chosen is not None:
            new_vars[state.save] = chosen
        self.session = self.session.evolve(vars=new_vars)
        self.log_path(state.name, "answer", said)
        self.enter(target)

    def answer(self, event: Event) -> None:
        state = self.flow.states[self.session.state]
        said = event.text.strip()
        if event.input == "speech":
            # Recognisers end sentences with a full stop: "12345." is still 12345.
            said = said.rstrip(".!?,;: ")
        if event.media:
            media = " ".join(event.media)
            self.session = self.session.evolve(vars={**self.session.vars, "media": media})
        if not said and not event.media:
            self.failure(state, "no_input")
            return
        if state.choices:
            hit = answers.match(state.choices, self.flow.shortcuts, said, event.input)
            if hit:
                self.choose(state, said, hit[0].target, hit[1])
            else:
                self.failure(state, "no_match", said)
            return
        shortcut = answers.exact_shortcut(self.flow.shortcuts, said, event.input)
        if shortcut:
            self.choose(state, said, shortcut.target, None)
        elif state.valid is not None and not state.valid.fullmatch(said):
            self.failure(state, "no_match", said)
        else:
            self.choose(state, said, state.next, said)

    def failure(self, state: State, kind: Literal["no_input", "no_match"], said: str = "") -> None:
        count = getattr(self.session, kind) + 1
        self.session = self.session.evolve(**{kind: count})
        self.log_path(state.name, kind, said or None)
        if self.session.failures >= state.attempts:
            if state.fail:
                self.enter(state.fail)
            else:
                self.speak((self.line(GOODBYE),))
                self.end("failed")
            return
        lines = state.no_input if kind == "no_input" else state.no_match
        default = DEFAULT_NO_INPUT if kind == "no_input" else DEFAULT_NO_MATCH
        text = lines[min(count, len(lines)) - 1] if lines else default
        if self.sms:
            # The apology and the question again, as one text.
            again = self.prompts(state)
            self.wait(state, (self.line(text), *again))
        else:
            self.out.append(self.line(text))
            self.wait(state, self.prompts(state))


def step(
    flow: Flow, session: Session, event: Event, now: dt.datetime
) -> tuple[Session, list[Output]]:
    """Advance `session` by `event`; return the new session and what to do."""
    run = _Run(flow, session.evolve(updated=now.timestamp()), now)
    if event.kind == "start":
        run.session = run.session.evolve(started=now.timestamp())
        run.enter(flow.start, first_text=event.text if run.sms and event.text else None)
    elif event.kind == "hangup":
        return close(session, event.status, now), []
    elif session.ended:
        run.out.append(Log("warning", "a webhook came for a conversation that has ended"))
        run.end(session.outcome or "completed")
    elif event.kind == "repeat":
        _repeat(run)
    elif session.waiting == "answer" and event.kind in ("answer", "no_input"):
        if event.kind == "no_input":
            run.failure(flow.states[session.state], "no_input")
        else:
            run.answer(event)
    elif session.waiting == "record" and event.kind in ("record", "answer"):
        _recorded(run, event)
    elif session.waiting == "dial" and event.kind == "dial":
        state = flow.states[session.state]
        run.log_path(state.name, "dial", event.status)
        if event.status in ("completed", "answered"):
            run.enter(state.next)
        else:
            run.enter(state.if_no_answer)
    else:
        _repeat(run)
    return run.session, run.out


def _recorded(run: _Run, event: Event) -> None:
    state = run.flow.states[run.session.state]
    kept = event.url or event.text or event.media
    if kept:
        run.out.append(KeepMessage(state.name, event.url, event.duration, event.text, event.media))
        if state.save:
            value = event.url or event.text
            run.session = run.session.evolve(vars={**run.session.vars, state.save: value})
    run.log_path(state.name, "record", event.url or event.text or None)
    run.enter(state.next)


def _repeat(run: _Run) -> None:
    """Say the current wait again, e.g. for a webhook that arrived twice."""
    state = run.flow.states[run.session.state]
    if run.session.waiting == "answer":
        run.wait(state, run.prompts(state))
    elif run.session.waiting == "record":
        run.start_record(state)
    else:
        run.enter(run.session.state)


def close(session: Session, outcome: str, now: dt.datetime) -> Session:
    """End a conversation from outside (the caller hung up, the texter sent STOP)."""
    if session.ended:
        return session
    run = _Run(_NO_FLOW, session.evolve(updated=now.timestamp()), now)
    run.end(outcome or "completed", hangup=False)
    return run.session


_NO_FLOW = Flow(name="", states={}, start="")
