"""Holding callers at `step()`: the wait URL's turns (`hold`) and leaving the queue (`queued`)."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.engine import actions as act
from ivr.engine import machine as engine
from ivr.engine.events import Event, Output
from ivr.engine.hold import HOLD_MUSIC
from ivr.engine.session import Session
from ivr.flow.loader import load_flow_text
from ivr.flow.model import Flow

NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)

FLOW = """\
states:
  hold:
    say: Please hold.
    queue: {name: desk, music: "https://example.com/hold.mp3", announce: 60, max_wait: 300}
    if_no_answer: voicemail
    next: thanks
  voicemail:
    say: Leave a message.
    record: true
  thanks:
    say: Thanks for calling.
"""


def flow_of(text: str) -> Flow:
    flow, problems = load_flow_text(text, name="f")
    assert flow is not None, problems
    return flow


def start(text: str = FLOW, channel: str = "voice") -> tuple[Flow, Session, list[Output]]:
    flow = flow_of(text)
    fresh = Session(key="CA1", flow="f", version="v", channel=channel)  # type: ignore[arg-type]
    session, out = engine.step(flow, fresh, Event("start"), NOW)
    return flow, session, out


def hold(flow: Flow, session: Session, position: int, waited: int) -> tuple[Session, list[Output]]:
    return engine.step(flow, session, Event("hold", position=position, waited=waited), NOW)


def test_a_queue_enqueues_the_caller_after_its_prompts() -> None:
    _, session, out = start()
    assert out == [act.Say("Please hold."), act.Enqueue(1, "desk")]
    assert (session.waiting, session.seq, session.announced) == ("queue", 1, -1)


def test_the_position_is_said_at_most_every_announce_seconds_between_the_music() -> None:
    flow, session, _ = start()
    music = act.Play("https://example.com/hold.mp3")
    session, out = hold(flow, session, 3, 0)
    assert out == [act.Say("You are number 3 in line."), music]
    session, out = hold(flow, session, 2, 59)
    assert out == [music]
    session, out = hold(flow, session, 2, 61)
    assert out == [act.Say("You are number 2 in line."), music]
    assert session.announced == 61 and session.waiting == "queue"
    _, out = hold(flow, session, 1, 300)
    assert out == [act.Leave()]


def test_announce_0_never_says_the_position_and_no_music_is_twilios() -> None:
    flow, session, _ = start(FLOW.replace(', music: "https://example.com/hold.mp3"', "").replace(
        "announce: 60", "announce: 0"
    ))  # fmt: skip
    for waited in (0, 100, 200):
        session, out = hold(flow, session, 1, waited)
        assert out == [act.Play(HOLD_MUSIC)]


@pytest.mark.parametrize(
    ("result", "state", "heard"),
    [
        ("bridged", "thanks", "Thanks for calling."),
        ("leave", "voicemail", "Leave a message."),
        ("error", "voicemail", "Leave a message."),
        ("queue-full", "voicemail", "Leave a message."),
    ],
)
def test_leaving_the_queue_goes_by_twilios_queue_result(
    result: str, state: str, heard: str
) -> None:
    flow, session, _ = start()
    session, out = engine.step(flow, session, Event("queued", status=result, waited=40), NOW)
    assert session.state == state
    assert act.Say(heard) in out
    assert [(s.event, s.answer) for s in session.path if s.event == "queue"] == [("queue", result)]


def test_a_caller_who_hung_up_on_hold_ends_the_conversation_without_more_twiml() -> None:
    flow, session, _ = start()
    session, out = engine.step(flow, session, Event("queued", status="hangup"), NOW)
    assert (session.ended, session.outcome, out) == (True, "hangup", [])


def test_the_queues_hangup_after_the_status_callback_is_quietly_taken() -> None:
    flow, session, _ = start()
    closed = engine.close(session, "completed", NOW)
    after, out = engine.step(flow, closed, Event("queued", status="hangup"), NOW)
    assert out == [] and (after.ended, after.outcome) == (True, "completed")


def test_a_wait_turn_for_a_conversation_that_moved_on_is_a_leave() -> None:
    flow, session, _ = start()
    session, _ = engine.step(flow, session, Event("queued", status="leave"), NOW)
    _, out = hold(flow, session, 1, 10)
    assert out == [act.Leave()]


def test_on_sms_a_queue_is_not_answered() -> None:
    _, session, out = start(channel="sms")
    assert session.state == "voicemail" and session.waiting == "record"
    assert out == [act.Message("Please hold."), act.Message("Leave a message.")]


def test_on_sms_a_queue_without_if_no_answer_ends() -> None:
    _, session, _ = start(FLOW.replace("    if_no_answer: voicemail\n", ""), channel="sms")
    assert session.ended and session.outcome == "completed"


def test_a_dial_of_a_queue_takes_the_next_caller() -> None:
    text = "states:\n  take:\n    dial: {queue: desk, timeout: 20}\n    if_no_answer: none\n"
    text += "  none:\n    say: Nobody.\n"
    flow, session, out = start(text)
    assert out == [act.Connect(1, (), 20, None, False, "desk")]
    session, out = engine.step(flow, session, Event("dial", status="no-answer"), NOW)
    assert act.Say("Nobody.") in out


def test_the_position_is_said_in_the_conversations_language() -> None:
    flow, session, _ = start(
        "language: es-MX\nvoice: Polly.Mia\n" + FLOW.replace("Please hold.", "Espere.")
    )
    _, out = hold(flow, session, 2, 0)
    assert out[0] == act.Say("Usted es el número 2 en la fila.", "Polly.Mia", "es-MX")
