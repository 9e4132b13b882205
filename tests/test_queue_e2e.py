"""Holding callers, over HTTP against `ivr serve`.

The server answers `<Enqueue>` with a wait URL and an action URL of its own. Twilio's side is
played first by hand, request by request as Twilio documents them (the wait URL with
QueuePosition, QueueTime, AvgQueueTime and CurrentQueueSize; the action URL with QueueResult
and QueueTime), then by the product's phone, whose queues are shared between calls, so that a
staff member's `<Dial><Queue>` takes the caller who has waited longest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from conftest import (
    ROOT,
    TOKEN,
    Server,
    Twilio,
    call_form,
    copy_flows,
    forget_conversations,
    http_client,
    start_server,
)

from ivr.store import open_store
from ivr.tools.phone import Call, Switchboard, http_transport

MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
STAFF = "+15555550101"  # one of the office's phones, as the staff flow lists them


def always_open() -> str:
    """The front desk, open whenever the test runs."""
    text = (ROOT / "flows" / "front_desk.yaml").read_text()
    return (
        text.replace('mon-fri: "08:00-18:00"', 'mon-sun: "00:00-24:00"')
        .replace('      sat: "09:00-12:00"\n', "")
        .replace('closed_on: ["2026-12-25", "2027-01-01"]', "closed_on: []")
    )


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("desk")
    flows = copy_flows(folder)
    (flows / "front_desk.yaml").write_text(always_open())
    with start_server(flows, f"sqlite:///{folder}/ivr.sqlite3", folder / "server.log") as server:
        yield server


@pytest.fixture
def twilio(desk: Server) -> Iterator[Twilio]:
    forget_conversations(desk.store)
    store = open_store(desk.store)
    with http_client() as client:
        yield Twilio(client, desk.url, store)
    store.close()


def on_hold(twilio: Twilio, sid: str) -> tuple[str, str]:
    """Call the front desk, ask for the operator, who is busy: the wait and action URLs."""
    menu = twilio.post("/voice/front_desk", call_form(sid))
    dialing = twilio.follow(menu, "Gather", call_form(sid, Digits="0"))
    held = twilio.follow(dialing, "Dial", call_form(sid, DialCallStatus="busy"))
    enqueue = held.find("Enqueue")
    assert enqueue is not None, held.text
    assert (enqueue.text, enqueue.get("method"), enqueue.get("waitUrlMethod")) == (
        "front_desk",
        "POST",
        "POST",
    )
    wait, action = enqueue.get("waitUrl"), enqueue.get("action")
    assert wait and action and wait.startswith("/voice/front_desk/hold?")
    return wait, action


def waiting(sid: str, position: int, seconds: int, size: int = 3) -> dict[str, str]:
    return call_form(
        sid,
        QueueSid="QU" + "1" * 32,
        QueuePosition=str(position),
        QueueTime=str(seconds),
        AvgQueueTime="40",
        CurrentQueueSize=str(size),
    )


def test_the_wait_url_says_the_position_every_minute_and_leaves_after_max_wait(
    twilio: Twilio,
) -> None:
    sid = "CA" + os.urandom(16).hex()
    wait, action = on_hold(twilio, sid)
    first = twilio.post(wait, waiting(sid, 3, 0))
    assert (first.said(), first.verbs()) == ("You are number 3 in line.", ["Say", "Play"])
    assert first.root.findtext("Play") == MUSIC
    # Twilio asks again each time the music ends: the position only once a minute has passed.
    assert twilio.post(wait, waiting(sid, 2, 35)).verbs() == ["Play"]
    again = twilio.post(wait, waiting(sid, 2, 70))
    assert again.said() == "You are number 2 in line."
    assert twilio.post(wait, waiting(sid, 1, 105)).verbs() == ["Play"]
    assert twilio.post(wait, waiting(sid, 1, 300)).verbs() == ["Leave"]
    # After <Leave/>, Twilio tells the action URL why the caller left: to the voicemail.
    left = twilio.post(action, call_form(sid, QueueResult="leave", QueueTime="301"))
    assert "Please leave your message after the tone" in left.said()
    assert left.verbs()[-2:] == ["Record", "Redirect"]


def test_a_late_wait_request_after_the_caller_left_is_answered_with_leave(
    twilio: Twilio,
) -> None:
    sid = "CA" + os.urandom(16).hex()
    wait, action = on_hold(twilio, sid)
    twilio.post(action, call_form(sid, QueueResult="error", QueueTime="3"))
    assert twilio.post(wait, waiting(sid, 1, 5)).verbs() == ["Leave"]


def test_a_caller_who_hangs_up_on_hold_ends_the_conversation(twilio: Twilio) -> None:
    sid = "CA" + os.urandom(16).hex()
    _, action = on_hold(twilio, sid)
    twilio.post(action, call_form(sid, QueueResult="hangup", QueueTime="12"))
    [past] = [s for s in twilio.store.history(flow="front_desk", last=10) if s.key == sid]
    assert (past.ended, past.outcome, past.state) == (True, "hangup", "hold")


@pytest.fixture
def phone(desk: Server) -> Iterator[Callable[[str, str, Switchboard], Call]]:
    """Calls over HTTP to the server, played by the product's phone."""
    transport = http_transport(desk.url)

    def call(flow: str, caller: str, board: Switchboard) -> Call:
        return Call(transport, flow, caller, token=TOKEN, board=board)

    yield call
    transport.close()


Phone = Callable[[str, str, Switchboard], Call]


def test_max_wait_leads_to_voicemail(phone: Phone, twilio: Twilio) -> None:
    caller = phone("front_desk", "+15551112222", Switchboard())
    caller.start()
    caller.press("0")
    heard = caller.dial("busy")
    assert heard == ["You are number 1 in line.", f"[audio {MUSIC}]"]
    assert caller.hold(299)[:2] == [f"[audio {MUSIC}]", "You are number 1 in line."]
    heard = caller.hold(60)
    assert "Please leave your message after the tone, then hang up or press the pound key." in heard
    caller.record(15, "Please call me back about my boiler")
    assert caller.ended
    [message] = twilio.store.messages("front_desk")
    assert (message.caller, message.state) == ("+15551112222", "voicemail")


def test_a_staff_dial_takes_the_caller_who_waited_longest(phone: Phone, twilio: Twilio) -> None:
    board = Switchboard()
    first = phone("front_desk", "+15551110001", board)
    second = phone("front_desk", "+15551110002", board)
    for caller in (first, second):
        caller.start()
        caller.press("0")
        caller.dial("no-answer")
    assert "You are number 2 in line." in second.heard
    staff = phone("front_desk_staff", STAFF, board)
    assert staff.start() == [
        "Connecting you to the next caller on hold.",
        "[connected to the next caller in front_desk]",
    ]
    # The staff member and the caller speak; when the staff call ends, both go on.
    assert staff.dial("answered") == ["Goodbye."]
    assert first.heard == ["[a staff member takes the call]", "Goodbye."] and first.ended
    assert not second.ended
    # The second caller is now first in line.
    assert "You are number 1 in line." in second.hold(90)
    [done] = [s for s in twilio.store.history(flow="front_desk", last=10) if s.key == first.sid]
    assert [(s.state, s.event, s.answer) for s in done.path if s.event == "queue"] == [
        ("hold", "queue", "bridged")
    ]
    assert done.outcome == "completed"


def test_a_staff_dial_with_nobody_on_hold(phone: Phone, twilio: Twilio) -> None:
    staff = phone("front_desk_staff", STAFF, Switchboard())
    assert staff.start()[-1] == "[waiting for a caller in front_desk]"
    assert staff.dial("no-answer") == ["Nobody is on hold right now.", "Goodbye."]


def test_the_queues_hangup_after_the_status_callback_is_answered_quietly(twilio: Twilio) -> None:
    sid = "CA" + os.urandom(16).hex()
    _, action = on_hold(twilio, sid)
    twilio.post("/voice/front_desk/status", call_form(sid, CallStatus="completed"))
    late = twilio.post(action, call_form(sid, QueueResult="hangup", QueueTime="12"))
    assert (late.status, late.verbs()) == (200, [])
    [past] = [s for s in twilio.store.history(flow="front_desk", last=10) if s.key == sid]
    assert (past.ended, past.outcome) == (True, "completed")
