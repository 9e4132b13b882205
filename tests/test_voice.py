"""Voice rules of the contract, driven through the real app with signed webhooks."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from conftest import TOKEN, Twilio, Twiml, call_form


def new_sid() -> str:
    return "CA" + os.urandom(16).hex()


def start(twilio: Twilio, flow: str, sid: str, **extra: str) -> Twiml:
    reply = twilio.post(f"/voice/{flow}", call_form(sid, **extra))
    assert reply.status == 200, reply.text
    return reply


def press(twilio: Twilio, reply: Twiml, sid: str, digits: str) -> Twiml:
    return twilio.follow(reply, "Gather", call_form(sid, Digits=digits))


def silence(twilio: Twilio, reply: Twiml, sid: str) -> Twiml:
    # Twilio falls through the Gather on silence and follows our Redirect, without Digits.
    return twilio.follow(reply, "Redirect", call_form(sid))


def test_menu_gathers_with_prompt_inside_and_redirect_after(twilio: Twilio) -> None:
    reply = start(twilio, "menu", new_sid())
    assert reply.verbs() == ["Gather", "Redirect"]
    gather = reply.find("Gather")
    assert gather is not None
    assert gather.get("input") == "dtmf speech"
    assert gather.get("timeout") == "4"
    assert gather.get("action") == "/voice/menu/gather?seq=1"
    assert gather.get("numDigits") is None  # answers of 1 and 2 digits: no fixed length
    say = gather.find("Say")
    assert say is not None and say.get("voice") == "Polly.Joanna"
    assert say.get("language") == "en-US"
    assert "Press 1 for sales" in reply.said()


def test_keys_choose_and_save_with_valid(twilio: Twilio) -> None:
    sid = new_sid()
    reply = press(twilio, start(twilio, "menu", sid), sid, "1")
    assert "Sales here" in reply.said()
    gather = reply.find("Gather")
    assert gather is not None and gather.get("numDigits") == "5"
    bad = press(twilio, reply, sid, "12a45")
    assert bad.said().startswith("Sorry, that isn't one of the options.")
    good = press(twilio, bad, sid, "12345")
    assert "1 2 3 4 5" in good.said()
    assert good.verbs()[-1] == "Hangup"


def test_partial_keys_then_silence_is_a_no_match(twilio: Twilio) -> None:
    sid = new_sid()
    reply = press(twilio, start(twilio, "menu", sid), sid, "2")  # "2" is part of nothing
    assert reply.said().startswith("That is not an option.")
    reply = press(twilio, reply, sid, "12")
    assert "Billing here." in reply.said()


def test_no_input_and_no_match_escalate_then_fail(twilio: Twilio) -> None:
    sid = new_sid()
    reply = start(twilio, "menu", sid)
    first = silence(twilio, reply, sid)
    assert first.said().startswith("Still there?")
    assert "Press 1 for sales" in first.said()  # the prompt again
    second = press(twilio, first, sid, "7")
    # The first no-match gets the first no_match line, even after a no-input.
    assert second.said().startswith("That is not an option.")
    third = silence(twilio, second, sid)
    # Three failures together: attempts run out, to `fail`.
    assert "We could not understand you." in third.said()
    assert "Goodbye from the menu." in third.said()
    assert third.verbs()[-1] == "Hangup"


def test_failure_counter_resets_on_entering_a_state(twilio: Twilio) -> None:
    sid = new_sid()
    reply = start(twilio, "menu", sid)
    reply = silence(twilio, reply, sid)
    reply = press(twilio, reply, sid, "12")  # billing
    reply = press(twilio, reply, sid, "1")  # back to main: counters start at zero
    reply = silence(twilio, reply, sid)
    assert reply.said().startswith("Still there?")


def test_speech_matches_words_and_spoken_digits(twilio: Twilio) -> None:
    sid = new_sid()
    reply = start(twilio, "menu", sid)
    reply = twilio.follow(
        reply, "Gather", call_form(sid, SpeechResult="I need the help desk.", Confidence="0.9")
    )
    assert "What is your name?" in reply.said()
    reply = twilio.follow(reply, "Gather", call_form(sid, SpeechResult="Ada.", Confidence="0.9"))
    assert "Thanks Ada. You said Ada." in reply.said()
    sid2 = new_sid()
    reply = start(twilio, "menu", sid2)
    reply = twilio.follow(reply, "Gather", call_form(sid2, SpeechResult="One two."))
    assert "Billing here." in reply.said()


def test_shortcut_works_in_any_waiting_state_and_text_is_escaped(twilio: Twilio) -> None:
    sid = new_sid()
    reply = press(twilio, start(twilio, "menu", sid), sid, "1")
    reply = press(twilio, reply, sid, "0")  # a shortcut beats "save any answer"
    assert "<b>&amp; you</b>" not in reply.text
    assert "&lt;b&gt;&amp; you&lt;/b&gt;" in reply.text
    assert "Goodbye from the menu." in reply.said()


def test_chained_states_set_branch_prompts_in_one_document(twilio: Twilio) -> None:
    sid = new_sid()
    reply = start(twilio, "actions", sid, From="+15550001111")
    assert reply.verbs()[:4] == ["Say", "Play", "Pause", "Say"]
    assert reply.said().startswith("Hello +15550001111, team Blue.")
    bonjour = reply.root.findall("Say")[1]
    assert (bonjour.get("voice"), bonjour.get("language"), bonjour.get("loop")) == (
        "Polly.Celine",
        "fr-FR",
        "2",
    )
    assert reply.root.find("Pause").get("length") == "2"  # type: ignore[union-attr]
    assert "Gold line." in reply.said()  # `equals` ignores case: gold == GOLD


def test_record_keeps_a_message_with_transcription(twilio: Twilio) -> None:
    sid = new_sid()
    reply = press(twilio, start(twilio, "actions", sid), sid, "1")
    record = reply.find("Record")
    assert record is not None
    assert record.get("maxLength") == "60" and record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == "/voice/actions/transcription"
    url = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1"
    done = twilio.follow(
        reply, "Record", call_form(sid, RecordingUrl=url, RecordingDuration="7", RecordingSid="RE1")
    )
    assert "Got your message." in done.said()
    t = twilio.post(
        "/voice/actions/transcription",
        call_form(
            sid,
            RecordingUrl=url,
            TranscriptionText="Please call me back",
            TranscriptionStatus="completed",
        ),
    )
    assert t.status == 204
    store = twilio.store
    [message] = store.messages("actions")
    assert (message.url, message.duration, message.transcription) == (url, 7, "Please call me back")
    assert message.caller == "+15551230000" and message.state == "message"


def test_dial_answered_goes_next_and_unanswered_goes_to_if_no_answer(twilio: Twilio) -> None:
    sid = new_sid()
    reply = press(twilio, start(twilio, "actions", sid), sid, "2")
    dial = reply.find("Dial")
    assert dial is not None
    assert (dial.get("timeout"), dial.get("callerId")) == ("20", "+15555550199")
    assert dial.findtext("Number") == "+15555550100"
    after = twilio.follow(reply, "Dial", call_form(sid, DialCallStatus="completed"))
    assert "Thanks for calling." in after.said()
    for status in ("busy", "no-answer", "failed", "canceled"):
        sid = new_sid()
        reply = press(twilio, start(twilio, "actions", sid), sid, "2")
        after = twilio.follow(reply, "Dial", call_form(sid, DialCallStatus=status))
        assert "Nobody answered." in after.said(), status


def test_redirect_and_reject(twilio: Twilio) -> None:
    sid = new_sid()
    reply = press(twilio, start(twilio, "actions", sid), sid, "3")
    assert reply.verbs() == ["Redirect"]
    assert reply.find("Redirect").text == "https://example.com/other.xml"  # type: ignore[union-attr]
    rejected = start(twilio, "busy_line", new_sid())
    assert rejected.verbs() == ["Reject"]
    assert rejected.find("Reject").get("reason") == "busy"  # type: ignore[union-attr]


def test_stale_callback_repeats_the_wait_instead_of_advancing_twice(twilio: Twilio) -> None:
    sid = new_sid()
    first = start(twilio, "menu", sid)
    moved = press(twilio, first, sid, "1")
    assert "Sales here" in moved.said()
    again = press(twilio, first, sid, "1")  # the same callback, delivered twice
    assert "Sales here" in again.said()
    store = twilio.store
    session = store.load(sid)
    assert session.state == "sales"
    assert [s.event for s in session.path].count("answer") == 1


def test_status_callback_closes_the_session_and_keeps_history(twilio: Twilio) -> None:
    sid = new_sid()
    press(twilio, start(twilio, "menu", sid), sid, "1")
    r = twilio.post("/voice/menu/status", call_form(sid, CallStatus="completed"))
    assert r.status == 204
    store = twilio.store
    assert store.load(sid) is None
    [session] = [s for s in store.history("menu") if s.key == sid]
    assert session.ended and session.outcome == "completed"
    assert [(s.event, s.state) for s in session.path][:3] == [
        ("enter", "main"),
        ("answer", "main"),
        ("enter", "sales"),
    ]


def test_bad_requests(twilio: Twilio) -> None:
    form = call_form(new_sid())
    assert twilio.post("/voice/menu", form, signature="").status == 403
    assert twilio.post("/voice/menu", form, signature="bm90IGEgc2lnbmF0dXJl").status == 403
    assert twilio.post("/voice/nope", form).status == 404
    # Signed for another URL: refused too.
    from conftest import sign

    other = sign("http://testserver/voice/actions", form)
    assert twilio.post("/voice/menu", form, signature=other).status == 403
    assert twilio.post("/voice/menu", {"From": "+1555"}).status == 400
    odd = twilio.client.post(
        twilio.base + "/voice/menu", data=form, headers={"X-Twilio-Signature": b"\xe9t\xe9"}
    )
    assert odd.status_code == 403  # not ASCII: refused, not a crash
    # A callback for a call nobody knows: an apology and a hangup, not a 500.
    unknown = twilio.post("/voice/menu/gather?seq=1", call_form(new_sid(), Digits="1"))
    assert unknown.status == 200
    assert "Sorry" in unknown.said() and unknown.verbs()[-1] == "Hangup"


def test_malformed_body_is_a_400(twilio: Twilio) -> None:
    r = twilio.client.post(
        twilio.base + "/voice/menu",
        content=b"zz",
        headers={"Content-Type": "multipart/form-data", "X-Twilio-Signature": "x"},
    )
    assert (r.status_code, r.text) == (400, "The request body is not a form.")


def test_an_unexpected_error_apologises_and_logs_flow_state_and_call(
    app_twilio: Twilio, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    twilio = app_twilio  # faults are injected in this process
    sid = new_sid()
    reply = start(twilio, "menu", sid)

    def broken(*args: object) -> object:
        raise RuntimeError("disk on fire")

    # Fault injection: the engine fails in the middle of a call.
    monkeypatch.setattr("ivr.engine.machine.step", broken)
    with caplog.at_level(logging.ERROR, logger="ivr.web.voice"):
        failed = press(twilio, reply, sid, "1")
    assert failed.status == 200
    assert failed.said().startswith("Sorry") and failed.verbs()[-1] == "Hangup"
    [record] = [r for r in caplog.records if r.name == "ivr.web.voice"]
    assert "flow menu" in record.getMessage() and "state main" in record.getMessage()
    assert sid in record.getMessage()
    # Nothing was saved from the failed step: the call is still waiting in the menu.
    store = twilio.store
    assert store.load(sid).state == "main"


def test_mounted_in_a_programmers_own_app(flows_dir: Path, tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    import ivr
    from ivr.settings import Settings

    settings = Settings(flows_dir=str(flows_dir), store="memory://", auth_token=TOKEN)
    inner = ivr.create_app(settings)
    outer = Starlette(routes=[Mount("/phone", app=inner)])
    with TestClient(outer, base_url="http://testserver") as client:
        twilio = Twilio(client, "http://testserver/phone", inner.state.services.store)
        sid = new_sid()
        reply = twilio.post("/voice/menu", call_form(sid))
        gather = reply.find("Gather")
        assert gather is not None and gather.get("action") == "/phone/voice/menu/gather?seq=1"
        reply = twilio.post(
            "http://testserver" + (gather.get("action") or ""), call_form(sid, Digits="12")
        )
        assert "Billing here." in reply.said()


def test_a_failing_status_callback_is_logged_with_the_call(
    app_twilio: Twilio, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sid = new_sid()
    start(app_twilio, "menu", sid)

    def broken(*args: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("ivr.engine.machine.close", broken)
    with caplog.at_level(logging.ERROR, logger="ivr.web.voice"):
        reply = app_twilio.post("/voice/menu/status", call_form(sid, CallStatus="completed"))
    assert reply.status == 200
    [record] = [r for r in caplog.records if r.name == "ivr.web.voice"]
    assert sid in record.getMessage() and "state main" in record.getMessage()
