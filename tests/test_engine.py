"""The engine alone: pure steps with a fixed clock, no HTTP.

Each rule of the engine is driven here through `step()`, with flows loaded from YAML as an
author writes them; the HTTP tests only show what needs HTTP.
"""

from __future__ import annotations

import datetime as dt
from typing import get_type_hints

import pytest

from ivr.engine import actions as act
from ivr.engine import machine as engine
from ivr.engine.events import Event, KeepMessage, Log, Output
from ivr.engine.session import Changes, Session
from ivr.flow.loader import load_flow_text
from ivr.flow.model import BranchItem, BranchState, Flow, PassState, Prompt, State

NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 in New York


def flow_of(text: str) -> Flow:
    flow, problems = load_flow_text(text, name="f")
    assert flow is not None, problems
    return flow


def session(channel: str = "voice") -> Session:
    return Session(key="CA1", flow="f", version="v", channel=channel)  # type: ignore[arg-type]


def said(outputs: list[Output]) -> list[str]:
    """What the caller hears, or the texter reads, in order (the prompts of a wait too)."""
    found: list[str] = []
    for o in outputs:
        if isinstance(o, act.Gather):
            found += [p.text for p in o.prompts if isinstance(p, act.Say)]
        elif isinstance(o, act.Say | act.Message):
            found.append(o.text)
    return found


class Conversation:
    """One conversation stepped by events, keeping the session and the last outputs."""

    def __init__(self, flow: Flow, channel: str = "voice", first: str = "") -> None:
        self.flow = flow
        self.session, self.out = engine.step(flow, session(channel), Event("start", first), NOW)

    def send(self, kind: str = "answer", text: str = "", **more: object) -> list[str]:
        event = Event(kind, text, **more)  # type: ignore[arg-type]
        self.session, self.out = engine.step(self.flow, self.session, event, NOW)
        return said(self.out)

    @property
    def state(self) -> str:
        return self.session.state


MENU = """
states:
  menu:
    say: Press 1 for sales.
    choices: {"1, sales": sales}
    no_input: [Are you there?, Still there?]
    no_match: [Not an option.]
    attempts: 4
    fail: operator
  sales:
    say: Sales.
  operator:
    say: Operator.
"""


def test_no_input_and_no_match_lines_escalate_each_on_its_own_count() -> None:
    c = Conversation(flow_of(MENU))
    assert said(c.out) == ["Press 1 for sales."]
    assert c.send("no_input") == ["Are you there?", "Press 1 for sales."]
    assert c.send("answer", "7") == ["Not an option.", "Press 1 for sales."]
    # The second no-input gets the second line; the last line repeats after that.
    assert c.send("no_input") == ["Still there?", "Press 1 for sales."]
    assert (c.session.no_input, c.session.no_match) == (2, 1)


def test_attempts_count_both_kinds_and_then_go_to_fail() -> None:
    c = Conversation(flow_of(MENU))
    c.send("no_input")
    c.send("answer", "9")
    c.send("answer", "")  # an empty answer is no input
    assert c.send("answer", "8") == ["Operator."]
    assert c.session.ended and c.session.outcome == "completed"
    events = [(s.state, s.event) for s in c.session.path]
    assert ("menu", "no_match") in events and ("operator", "enter") in events


def test_each_wait_has_a_new_sequence_number() -> None:
    c = Conversation(flow_of(MENU))
    first = c.out[-1]
    c.send("no_input")
    again = c.out[-1]
    assert isinstance(first, act.Gather) and isinstance(again, act.Gather)
    assert again.seq == first.seq + 1 == c.session.seq


def test_failures_on_sms_are_one_text_with_the_question_again() -> None:
    c = Conversation(flow_of(MENU), "sms")
    assert c.send("answer", "what?") == ["Not an option. Press 1 for sales."]
    assert len(c.out) == 1 and isinstance(c.out[0], act.Message)


def test_default_failure_lines_and_default_goodbye() -> None:
    flow = flow_of("states:\n  m:\n    say: Pick.\n    choices: {'1': m}\n    attempts: 2\n")
    c = Conversation(flow)
    assert c.send("no_input") == [engine.DEFAULT_NO_INPUT, "Pick."]
    assert c.send("answer", "5") == [engine.GOODBYE]
    assert c.session.ended and c.session.outcome == "failed"
    assert isinstance(c.out[-1], act.Hangup)


def test_choices_match_words_and_save_the_answer_as_written() -> None:
    flow = flow_of(
        "states:\n  m:\n    say: Which?\n    choices: {'1, sales': s}\n    save: dept\n"
        "  s:\n    say: 'You chose {{ dept }} ({{ answer }}).'\n"
    )
    c = Conversation(flow)
    assert c.send("answer", "Sales, please!", input="speech") == [
        "You chose sales (Sales, please)."
    ]


QUESTION = """
states:
  zip:
    say: Your zip code?
    save: zip
    valid: '[0-9]{5}'
    no_match: That is not a zip code.
    next: thanks
  thanks:
    say: 'Thanks, {{ zip | spell }}.'
"""


def test_save_keeps_a_valid_answer_and_goes_on() -> None:
    c = Conversation(flow_of(QUESTION))
    assert c.send("answer", "1234") == ["That is not a zip code.", "Your zip code?"]
    # A recogniser's full stop is not part of the answer.
    assert c.send("answer", "02134.", input="speech") == ["Thanks, 0 2 1 3 4."]
    assert c.session.vars["zip"] == "02134" and c.session.vars["answer"] == "02134"


def test_gather_settings_come_from_the_state() -> None:
    flow = flow_of(
        "language: en-GB\nstates:\n  m:\n    say: Hi.\n    choices: {'12': m, help: m}\n"
        "    gather: {listen: both, timeout: 9}\n"
    )
    gather = Conversation(flow).out[-1]
    assert isinstance(gather, act.Gather)
    assert (gather.input, gather.num_digits, gather.timeout) == ("dtmf speech", 2, 9)
    assert (gather.hints, gather.language) == ("help", "en-GB")


SHORTCUTS = """
shortcuts:
  "0, operator": operator
states:
  menu:
    say: Press 1 or 0.
    choices: {"1": one, "0": zero}
  ask:
    say: Your name?
    save: name
    next: one
  one:
    say: One {{ name }}.
  zero:
    say: Zero.
  operator:
    say: Operator.
"""


def test_a_state_s_own_choice_wins_over_a_shortcut() -> None:
    c = Conversation(flow_of(SHORTCUTS))
    assert c.send("answer", "0") == ["Zero."]
    c = Conversation(flow_of(SHORTCUTS))
    assert c.send("answer", "operator", input="speech") == ["Operator."]


def test_a_question_takes_only_an_exact_shortcut() -> None:
    flow = flow_of(SHORTCUTS.replace("\nstates:\n", "\nstart: ask\nstates:\n"))
    c = Conversation(flow)
    assert c.send("answer", "call the operator", input="speech") == ["One call the operator."]
    c = Conversation(flow)
    assert c.send("answer", "Operator.", input="speech") == ["Operator."]
    assert "name" not in c.session.vars


def test_the_first_text_answers_the_first_menu() -> None:
    c = Conversation(flow_of(MENU), "sms", first="SALES")
    assert said(c.out) == ["Sales."] and c.session.ended
    c = Conversation(flow_of(MENU), "sms", first="hello")
    assert said(c.out) == ["Press 1 for sales."] and c.session.waiting == "answer"


RECORD = """
states:
  message:
    say: Leave a message.
    record: {max_length: 30, beep: false}
    save: recording
    next: bye
  bye:
    say: 'Got {{ recording }}.'
"""


def test_a_recording_is_kept_saved_and_followed_by_next() -> None:
    c = Conversation(flow_of(RECORD))
    record = c.out[-1]
    assert isinstance(record, act.RecordAudio) and (record.max_length, record.beep) == (30, False)
    assert c.session.waiting == "record"
    assert c.send("record", url="https://r/1", duration=7) == ["Got https://r/1."]
    kept = [o for o in c.out if isinstance(o, KeepMessage)]
    assert kept == [KeepMessage("message", "https://r/1", 7)]
    assert isinstance(c.out[-1], act.Hangup)


def test_an_empty_recording_keeps_nothing() -> None:
    c = Conversation(flow_of(RECORD))
    assert c.send("record") == ["Got ."]
    assert not any(isinstance(o, KeepMessage) for o in c.out)


def test_on_sms_the_next_text_is_the_message() -> None:
    c = Conversation(flow_of(RECORD), "sms")
    assert said(c.out) == ["Leave a message."] and c.session.waiting == "record"
    assert c.send("answer", "Call me back") == ["Got Call me back."]
    assert [o for o in c.out if isinstance(o, KeepMessage)][0].text == "Call me back"


DIAL = """
states:
  ring:
    say: Connecting.
    dial: {number: "+15555550100", timeout: 20, caller_id: "+15555550199"}
    if_no_answer: missed
    next: done
  missed:
    say: Nobody answered.
  done:
    say: Bye.
"""


@pytest.mark.parametrize(
    ("status", "heard"),
    [
        ("completed", "Bye."),
        ("answered", "Bye."),
        ("busy", "Nobody answered."),
        ("no-answer", "Nobody answered."),
        ("failed", "Nobody answered."),
        ("canceled", "Nobody answered."),
    ],
)
def test_a_dial_goes_on_by_how_it_ended(status: str, heard: str) -> None:
    c = Conversation(flow_of(DIAL))
    connect = c.out[-1]
    assert connect == act.Connect(c.session.seq, ("+15555550100",), 20, "+15555550199")
    assert c.send("dial", status=status) == [heard]


def test_a_text_cannot_be_put_through() -> None:
    c = Conversation(flow_of(DIAL), "sms")
    assert said(c.out) == ["Connecting.", "Nobody answered."]


BRANCH = """
hours:
  office:
    timezone: America/New_York
    weekly: {mon-fri: "08:00-18:00"}
states:
  start:
    set: {greeting: 'Hi {{ caller }}', tier: gold}
    branch:
      - if: {channel: sms}
        next: texted
      - if: {closed: office}
        next: closed
      - if: {var: tier, in: [silver, Gold]}
        next: vip
    next: plain
  texted:
    say: Texted.
  closed:
    say: Closed.
  vip:
    say: '{{ greeting }}, VIP.'
  plain:
    say: Plain.
"""


def test_branch_takes_the_first_condition_that_holds() -> None:
    c = Conversation(flow_of(BRANCH))
    assert said(c.out) == ["Hi , VIP."]  # open on a Tuesday morning; `in` ignores case
    assert said(Conversation(flow_of(BRANCH), "sms").out) == ["Texted."]


def test_branch_without_otherwise_falls_back_to_next() -> None:
    flow = flow_of(BRANCH.replace("tier: gold", "tier: bronze"))
    assert said(Conversation(flow).out) == ["Plain."]


def test_set_renders_templates_from_the_conversation() -> None:
    flow = flow_of(BRANCH)
    start = Session(key="CA1", flow="f", version="v", channel="voice", vars={"caller": "+1555"})
    after, out = engine.step(flow, start, Event("start"), NOW)
    assert after.vars["greeting"] == "Hi +1555" and said(out) == ["Hi +1555, VIP."]


def test_redirect_hands_the_call_over_and_ends() -> None:
    flow = flow_of("states:\n  a:\n    say: Moving you.\n    redirect: https://example.com/x\n")
    c = Conversation(flow)
    assert c.out[-1] == act.Redirect("https://example.com/x")
    assert c.session.ended and c.session.outcome == "redirected"
    assert not any(isinstance(o, act.Hangup) for o in c.out)
    c = Conversation(flow, "sms")
    assert c.out == [act.Message("Moving you.")] and c.session.outcome == "redirected"


def test_reject_refuses_the_call_unanswered() -> None:
    flow = flow_of("states:\n  a:\n    reject: busy\n")
    c = Conversation(flow)
    assert c.out == [act.Reject("busy")] and c.session.outcome == "rejected"
    c = Conversation(flow, "sms")
    assert c.out == [] and c.session.ended and c.session.outcome == "rejected"


def test_hangup_and_a_state_without_next_end_the_call() -> None:
    flow = flow_of(
        "states:\n  a:\n    say: Bye.\n    hangup: true\n    next: b\n  b:\n    say: B.\n"
    )
    c = Conversation(flow)
    assert c.out == [act.Say("Bye."), act.Hangup()] and c.session.outcome == "completed"
    c = Conversation(flow_of("states:\n  a:\n    say: Bye.\n"))
    assert c.out == [act.Say("Bye."), act.Hangup()] and c.session.ended


def test_a_runaway_chain_ends_with_an_apology_and_a_logged_error() -> None:
    # The checker refuses such loops; the engine must end one all the same.
    states: dict[str, State] = {
        "a": PassState(name="a", say=(Prompt("say", "A."),), next="b"),
        "b": BranchState(name="b", branch=(BranchItem(None, "a"),)),
    }
    flow = Flow(name="f", states=states, start="a")
    after, outputs = engine.step(flow, session(), Event("start"), NOW)
    assert after.ended and after.outcome == "error"
    logs = [o for o in outputs if isinstance(o, Log)]
    assert logs and "without waiting" in logs[0].message
    assert said(outputs)[-1] == engine.APOLOGY
    assert said(outputs).count("A.") == engine.MAX_HOPS // 2
    assert isinstance(outputs[-1], act.Hangup)


def test_a_webhook_the_wait_does_not_take_repeats_the_wait() -> None:
    c = Conversation(flow_of(RECORD))
    assert c.send("dial", status="completed") == []
    assert isinstance(c.out[-1], act.RecordAudio) and c.session.waiting == "record"
    c = Conversation(flow_of(MENU))
    assert c.send("repeat") == ["Press 1 for sales."] and c.session.no_input == 0


def test_a_webhook_after_the_end_is_logged_and_ends_again() -> None:
    c = Conversation(flow_of("states:\n  a:\n    say: Bye.\n"))
    c.send("answer", "1")
    assert isinstance(c.out[0], Log) and c.out[0].level == "warning"
    assert c.session.ended and c.session.outcome == "completed"


def test_a_hangup_closes_the_conversation_with_its_status() -> None:
    c = Conversation(flow_of(MENU))
    assert c.send("hangup", status="no-answer") == [] and c.out == []
    assert c.session.ended and c.session.outcome == "no-answer"
    assert c.session.path[-1].event == "end"


def test_the_changes_evolve_takes_are_the_fields_of_a_session() -> None:
    # `Changes` spells out each field's type for the type checker: it must not drift.
    assert get_type_hints(Changes) == {
        name: hint
        for name, hint in get_type_hints(Session).items()
        if name in Changes.__annotations__
    }
    assert set(Changes.__annotations__) == set(Session.__dataclass_fields__)
