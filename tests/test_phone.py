"""The phone against the real app (in-process and served), and against scripted TwiML."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from conftest import start_server
from starlette.applications import Starlette
from twilio.request_validator import RequestValidator

from ivr.flow.loader import load_flows
from ivr.settings import Settings
from ivr.tools.phone import Call, PhoneError, Texting, WrongMove, app_transport, http_transport
from ivr.web.app import create_app

FLOWS = Path(__file__).parent / "flowtests_cases" / "flows"
TOKEN = "phone-test-token"
OPEN = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in New York
CLOSED = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)  # Tuesday 22:00 in New York
MENU = "For opening hours, press 1. To book a visit, press 2. To leave a message, press 3."


def make_app(at: dt.datetime = OPEN) -> Starlette:
    flows, problems = load_flows([FLOWS])
    assert not [p for p in problems if p.level == "error"], problems
    return create_app(Settings(store="memory://", auth_token=TOKEN), flows=flows, clock=lambda: at)


@pytest.fixture
def app() -> Starlette:
    return make_app()


def call(app: Starlette, flow: str = "desk") -> Call:
    return Call(app_transport(app), flow, "+15551230000", "+15559990000", token=TOKEN)


def test_a_call_through_the_menu_keys_and_limits(app: Starlette) -> None:
    c = call(app)
    assert c.start() == ["Thanks for contacting Acme Plumbing.", MENU]
    assert c.waiting == "keys or speech"
    assert c.press("9") == ["Sorry, that isn't one of the options.", MENU]
    assert c.silence() == ["Sorry, I didn't hear anything.", MENU]
    assert c.press("2") == ["Please enter the 5 digit ZIP code of the visit."]
    assert c.press("12#") == [
        "Sorry, that isn't one of the options.",
        "Please enter the 5 digit ZIP code of the visit.",
    ]
    # numDigits is 5: Twilio stops listening after five keys, the rest are lost.
    assert c.press("1234567")[0] == "You entered 1 2 3 4 5. Press 1 to confirm or 2 to try again."
    assert c.press("1") == ["Thank you. We will call you back to pick a time."]
    assert c.ended and c.heard == ["Thank you. We will call you back to pick a time."]
    done = app.state.services.store.history(flow="desk")[0]
    assert done.key == c.sid and done.ended and done.outcome == "completed"
    assert done.vars["zip"] == "12345" and done.vars["booked_zip"] == "12345"
    with pytest.raises(WrongMove, match="ended"):
        c.press("1")


def test_speech_and_keys_only_waits(app: Starlette) -> None:
    c = call(app)
    c.start()
    assert c.say("I'd like to book please") == ["Please enter the 5 digit ZIP code of the visit."]
    assert c.waiting == "keys"
    heard = c.say("one two three")  # this wait listens for keys: Twilio hears silence
    assert heard[0] == "Sorry, I didn't catch that."
    assert "keys only" in c.notes[0]


def test_finish_key_alone_is_silence(app: Starlette) -> None:
    c = call(app)
    c.start()
    c.press("2")
    assert c.press("#")[0] == "Sorry, I didn't catch that."


def test_voicemail_recording_and_transcription() -> None:
    app = make_app(CLOSED)
    c = call(app)
    heard = c.start()
    assert heard[-2:] == ["Please leave your message after the tone.", "[beep]"]
    assert c.waiting == "a recording"
    assert c.record(7, "Please call me back") == ["Goodbye."]
    assert c.ended
    (message,) = app.state.services.store.messages(flow="desk")
    assert message.duration == 7 and message.transcription == "Please call me back"
    assert message.url.startswith("https://api.twilio.com/") and message.conversation == c.sid


def test_dial_not_answered_then_answered(app: Starlette) -> None:
    c = call(app)
    c.start()
    assert c.press("0") == ["Connecting you now.", "[ringing +15555550100]"]
    assert c.waiting == "the dial to end"
    with pytest.raises(WrongMove, match="not keys"):
        c.press("1")
    assert c.dial("busy")[0] == "Please leave your message after the tone."
    c = call(app)
    c.start()
    c.press("0")
    assert c.dial("answered") == ["Goodbye."] and c.ended
    with pytest.raises(WrongMove, match="not how a dial ends"):
        call(app).dial("maybe")


def test_hangup_sends_the_status_callback(app: Starlette) -> None:
    c = call(app)
    c.start()
    assert app.state.services.store.load(c.sid) is not None
    c.hangup()
    assert c.ended and app.state.services.store.load(c.sid) is None
    assert app.state.services.store.history(flow="desk")[0].ended


def test_a_wrong_token_is_refused(app: Starlette) -> None:
    forged = Call(app_transport(app), "desk", token="not-the-token")
    with pytest.raises(PhoneError, match="403"):
        forged.start()
    assert forged.ended


def test_texting_first_text_help_and_stop(app: Starlette) -> None:
    t = Texting(app_transport(app), "line", "+15551230000", "+15559990000", token=TOKEN)
    assert t.lookup == "sms:+15559990000:+15551230000"
    assert t.send("HOURS") == ["We are open 8 to 6."]
    assert t.send("hi") == ["Press 1 or text HOURS for our hours. Press 2 or text BOOK to book."]
    assert app.state.services.store.load(t.lookup).state == "menu"
    assert t.send("HELP") == ["Text HOURS or BOOK. Reply STOP to stop."]
    assert t.send("STOP") == []
    assert t.send("hi") == []  # opted out: no reply at all


# -- the protocol itself, against scripted TwiML --------------------------------------------


class Scripted:
    """A server that answers with the given TwiML documents in turn, and keeps the posts."""

    base_url = "https://ivr.example.com"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.posts: list[tuple[str, dict[str, str], str]] = []

    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        self.posts.append((path, dict(form), headers["X-Twilio-Signature"]))
        if path.endswith("/status"):
            return 204, ""
        return 200, f"<Response>{self.replies.pop(0)}</Response>"


def test_signed_exactly_as_twilio_signs_with_relative_urls() -> None:
    server = Scripted(
        '<Gather action="gather?seq=1" numDigits="1"><Say>Hi</Say></Gather>', "<Say>Bye</Say>"
    )
    c = Call(server, "x", token=TOKEN)
    c.start()
    c.press("42")
    validator = RequestValidator(TOKEN)
    for path, form, signature in server.posts:
        assert validator.validate(server.base_url + path, form, signature)
    # A relative action resolves against the document's URL, as in a browser: /voice/x is
    # the document, so `gather?seq=1` is /voice/gather?seq=1.
    paths = [path for path, _, _ in server.posts]
    assert paths == ["/voice/x", "/voice/gather?seq=1", "/voice/x/status"]
    first, answer, status = (form for _, form, _ in server.posts)
    assert first["CallSid"].startswith("CA") and len(first["CallSid"]) == 34
    assert first["Direction"] == "inbound" and first["CallStatus"] == "ringing"
    assert answer["Digits"] == "4" and answer["CallStatus"] == "in-progress"
    assert status["CallStatus"] == "completed"


def test_silence_falls_through_unless_action_on_empty_result() -> None:
    server = Scripted(
        '<Gather action="/a"><Say>Q</Say></Gather><Say>Nobody?</Say>',
        '<Gather action="/b" actionOnEmptyResult="true"/>',
        "<Hangup/>",
    )
    c = Call(server, "x", token=TOKEN)
    c.start()
    assert c.silence() == ["Nobody?"] and c.ended
    c = Call(server, "x", token=TOKEN)
    c.start()
    c.silence()
    assert server.posts[-2][0] == "/b" and server.posts[-2][1]["Digits"] == ""


def test_a_redirect_loop_is_an_error() -> None:
    server = Scripted(*["<Redirect>/again</Redirect>"] * 40)
    with pytest.raises(PhoneError, match="without waiting"):
        Call(server, "x", token=TOKEN).start()


# -- a served app, over HTTP ----------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    log = tmp_path / "server.log"
    with start_server(FLOWS, "memory://", log, env={"TWILIO_AUTH_TOKEN": TOKEN}) as server:
        yield server.url


def test_a_live_server_over_http(served: str) -> None:
    transport = http_transport(served)
    try:
        c = Call(transport, "line", token=TOKEN)
        assert c.start() == ["Press 1 or text HOURS for our hours. Press 2 or text BOOK to book."]
        c.press("2")
        assert c.say("Friday") == ["Booked for Friday."] and c.ended
        t = Texting(transport, "line", token=TOKEN)
        assert t.send("hours") == ["We are open 8 to 6."]
    finally:
        transport.close()
