"""Running one conversation test: its moves through the phone, its checks against the server.

Each test gets the real app of its own (a fresh memory store, its clock at the test's `at`),
so tests never see each other's conversations or opt-outs. A test stops at its first failing
step: the steps after it would only fail because of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ivr.engine.session import Session
from ivr.flow.model import Flow
from ivr.store.base import SwitchChange
from ivr.tools.flowtests.replies import canned_sender
from ivr.tools.flowtests.spec import Case, Step
from ivr.tools.phone import Call, PhoneError, Texting, WrongMove
from ivr.tools.simulate import Sandbox

WAITS_FOR = {
    "press": "keys",
    "say": "speech",
    "silence": "an answer",
    "record": "a recording",
    "dial": "a dial",
    "hold": "a caller on hold",
    "take": "a caller on hold",
    "hangup": "a call in progress",
}
MOVES = (*WAITS_FOR, "text")


@dataclass(frozen=True)
class Failure:
    """What a step expected and what came instead; `step` is None when the start failed."""

    step: Step | None
    expected: str
    got: str


def _fold(text: str) -> str:
    return " ".join(text.split())


def _quote(lines: list[str]) -> str:
    return " ".join(f'"{line}"' for line in lines) if lines else "nothing"


class _Runner:
    def __init__(self, case: Case, sandbox: Sandbox, flow: Flow) -> None:
        self.case, self.sandbox, self.flow = case, sandbox, flow
        self.heard: list[str] = []
        self.call: Call | None = None
        self.texting: Texting | None = None

    def run(self) -> Failure | None:
        case = self.case
        for name, on in case.switches:
            self.sandbox.store.set_switch(SwitchChange(name, on, 0.0, "test"))
        try:
            if case.channel == "voice":
                variables = dict(case.variables)
                self.call = self.sandbox.call(
                    case.flow, case.caller, case.called, variables, answered_by=case.answered_by
                )
                self.heard = self.call.start()
            else:
                self.texting = self.sandbox.texting(case.flow, case.caller, case.called)
        except PhoneError as exc:
            return Failure(None, "the call to be answered", f"but {exc}")
        for step in case.steps:
            failure = None
            try:
                if step.kind in MOVES:
                    self.move(step)
                else:
                    failure = self.check(step)
            except WrongMove as exc:
                failure = Failure(
                    step, f"the call to wait for {WAITS_FOR[step.kind]}", f"but {exc}"
                )
            except PhoneError as exc:
                failure = Failure(step, "an answer Twilio would take", f"but {exc}")
            if failure is not None:
                return failure
        return None

    def move(self, step: Step) -> None:
        if step.kind == "text":
            assert self.texting is not None  # the spec allows `text` on SMS tests only
            self.heard = self.texting.send(step.text)
            return
        call = self.call
        assert call is not None  # and call moves on voice tests only
        if step.kind == "press":
            self.heard = call.press(step.text)
        elif step.kind == "say":
            self.heard = call.say(step.text)
        elif step.kind == "silence":
            self.heard = call.silence()
        elif step.kind == "record":
            self.heard = call.record(step.seconds, step.text)
        elif step.kind == "dial":
            self.heard = call.dial(step.text)
        elif step.kind == "hold":
            self.heard = call.hold(step.seconds)
        elif step.kind == "take":
            self.heard = call.take()
        else:
            self.heard = call.hangup()

    def session(self) -> Session | None:
        line = self.call or self.texting
        return self.sandbox.session(line) if line is not None else None

    def where(self) -> str:
        session = self.session()
        if session is None:
            return "no conversation has started"
        if session.ended:
            return f"the conversation ended in state `{session.state}` ({session.outcome})"
        return f"the conversation is in state `{session.state}`"

    def check(self, step: Step) -> Failure | None:
        if step.kind in ("hear", "hear_exact", "not_hear", "hear_nothing"):
            return self.hear(step)
        session = self.session()
        if step.kind in ("texted", "notified"):
            return self.sent(step, session)
        if step.kind == "state":
            if session is not None and session.state == step.text:
                return None
            return Failure(step, f"state `{step.text}`", f"but {self.where()}")
        if step.kind == "var":
            known = {**self.flow.vars, **(session.vars if session else {})}
            for name, want in step.values:
                have = known.get(name) or None
                if have != (want or None):
                    expect = f'{name} = "{want}"' if want else f"{name} not to be set"
                    got = f'{name} = "{have}"' if have else f"{name} is not set"
                    return Failure(step, expect, f"but {got}")
            return None
        if step.kind == "language":
            vars_ = session.vars if session else {}
            have = vars_.get("language") or self.flow.language or ""
            if have == step.text:
                return None
            return Failure(step, f"the language `{step.text}`", f"but it is `{have or 'unset'}`")
        ended = self.call.ended if self.call else bool(session and session.ended)
        if step.kind == "ended":
            if ended == step.flag:
                return None
            expect = "the conversation to have ended" if step.flag else "the conversation to go on"
            return Failure(step, expect, f"but {self.where()}")
        if ended and session is not None and session.outcome == step.text:
            return None
        return Failure(step, f"the conversation to end `{step.text}`", f"but {self.where()}")

    def sent(self, step: Step, session: Session | None) -> Failure | None:
        """`texted`: a text whose words or number are these; `notified`: a note to each."""
        kind = "text" if step.kind == "texted" else "note"
        mine = [
            o
            for o in self.sandbox.store.outgoing(last=10_000)
            if o.kind == kind and session is not None and o.conversation == session.key
        ]
        seen = [f"{o.to}: {o.body}" if kind == "text" else o.to for o in reversed(mine)]
        for want in step.texts:
            folded = _fold(want).casefold()
            if not any(folded in _fold(f"{o.to} {o.body}").casefold() for o in mine):
                what = "a text with" if kind == "text" else "a note to"
                return Failure(step, f'{what} "{want}"', f"but {_sent(kind, seen)}")
        return None

    def hear(self, step: Step) -> Failure | None:
        if step.kind == "hear_nothing" and self.heard:
            return Failure(step, "to hear nothing", f"but heard {_quote(self.heard)}")
        heard = _fold(" ".join(self.heard)).casefold()
        for want in step.texts:
            if step.kind == "hear" and _fold(want).casefold() not in heard:
                return Failure(step, f'to hear "{want}"', f"but heard {_quote(self.heard)}")
            if step.kind == "hear_exact" and _fold(want) not in map(_fold, self.heard):
                return Failure(step, f'to hear exactly "{want}"', f"but heard {_quote(self.heard)}")
            if step.kind == "not_hear" and _fold(want).casefold() in heard:
                return Failure(step, f'not to hear "{want}"', f"but heard {_quote(self.heard)}")
        return None


def _sent(kind: str, seen: list[str]) -> str:
    if not seen:
        return f"no {kind} was sent"
    return f"{'texted' if kind == 'text' else 'notified'} {_quote(seen)}"


def run_case(case: Case, flows: Mapping[str, Flow]) -> Failure | None:
    """Run `case` on the real app in-process: None when it passes."""
    sandbox = Sandbox(flows, at=case.at, fetcher=canned_sender(dict(case.replies)))
    try:
        return _Runner(case, sandbox, flows[case.flow]).run()
    finally:
        sandbox.close()
