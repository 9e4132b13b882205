"""Faults found by trying the webhooks as an attacker and as a flaky network would, over HTTP."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import ROOT, TOKEN, Twilio, call_form, sms_form
from starlette.testclient import TestClient

from ivr.settings import Settings
from ivr.store.queries import Filters
from ivr.web.app import create_app

SORRY = "Sorry, something went wrong on our side. Please try again later."

FINAL_DAY = "Booked for 2026-12-01."


def test_a_repeated_text_gets_the_same_reply_and_is_applied_once(app_twilio: Twilio) -> None:
    frm = "+15550001111"
    app_twilio.post("/sms/texting", sms_form("hi", frm))
    hours = sms_form("hours", frm)
    first = app_twilio.post("/sms/texting", hours)
    again = app_twilio.post("/sms/texting", hours)  # Twilio's retry: the same MessageSid
    assert first.status == again.status == 200
    assert first.text == again.text and "open 9 to 5" in first.text
    [session] = app_twilio.store.conversations(Filters(number=frm), 10)
    assert [s.answer for s in session.path if s.event == "answer"] == ["hours"]


def test_a_repeated_text_that_ended_the_conversation_opens_no_other(app_twilio: Twilio) -> None:
    frm = "+15550002222"
    app_twilio.post("/sms/texting", sms_form("hi", frm))
    app_twilio.post("/sms/texting", sms_form("book", frm))
    last = sms_form("2026-12-01", frm)
    first = app_twilio.post("/sms/texting", last)
    again = app_twilio.post("/sms/texting", last)
    assert first.messages() == again.messages() == [FINAL_DAY]
    [session] = app_twilio.store.conversations(Filters(number=frm), 10)
    assert session.ended and session.outcome == "completed"
    # A new text (a new MessageSid) still starts a new conversation.
    fresh = app_twilio.post("/sms/texting", sms_form("hi", frm))
    assert fresh.messages()[0] == "Hi from the texting line."
    assert len(app_twilio.store.conversations(Filters(number=frm), 10)) == 2


def test_a_repeat_of_a_calls_last_callback_gets_the_same_final_twiml(app_twilio: Twilio) -> None:
    sid = "CA" + os.urandom(16).hex()
    menu = app_twilio.post("/voice/menu", call_form(sid))
    sales = app_twilio.follow(menu, "Gather", call_form(sid, Digits="1"))
    gather = sales.find("Gather")
    assert gather is not None
    url, form = gather.get("action") or "", call_form(sid, Digits="12345")
    done = app_twilio.post(url, form)
    assert done.verbs()[-1] == "Hangup" and "1 2 3 4 5" in done.said()
    again = app_twilio.post(url, form)
    assert (again.status, again.text) == (200, done.text)
    assert app_twilio.store.conversation(sid).path == app_twilio.store.conversation(sid).path
    [session] = app_twilio.store.conversations(Filters(flow="menu"), 10)
    assert [s.answer for s in session.path if s.event == "answer"] == ["1", "12345"]


def test_a_text_of_forty_thousand_dots_is_matched_whole(app_twilio: Twilio) -> None:
    # Normalising it was quadratic: 40,000 dots blocked the event loop for seconds (see
    # bench/bench_answers.py for the times); the answers must still be the right ones.
    frm = "+15550003333"
    app_twilio.post("/sms/texting", sms_form("hi", frm))
    dots = app_twilio.post("/sms/texting", sms_form("." * 40_000 + "x", frm))
    assert dots.messages()[0].startswith("Sorry, I don't know that one.")
    hours = app_twilio.post("/sms/texting", sms_form("hours" + "." * 40_000, frm))
    assert hours.messages()[0] == "We are open 9 to 5."
    spaced = app_twilio.post("/sms/texting", sms_form("hours" + " ." * 40_000 + "!", frm))
    assert spaced.messages()[0] == "We are open 9 to 5."


def test_health_says_the_store_is_down_and_ready_is_503(
    app_twilio: Twilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app_twilio.client
    for path in ("/health", "/health/ready", "/health?ready"):
        r = client.get(path)
        assert (r.status_code, r.json()["status"], r.json()["store"]) == (200, "ok", "ok")

    def down(*args: object) -> object:
        raise OSError("the store went away")

    monkeypatch.setattr(app_twilio.store, "load", down)
    live = client.get("/health")
    assert live.status_code == 200 and live.json()["status"] == "degraded"
    assert "the store went away" in live.json()["store"]
    for path in ("/health/ready", "/health?ready"):
        assert client.get(path).status_code == 503


def test_the_sqlite_folder_removed_while_serving_refuses_writes_loudly(
    flows_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    settings = Settings(
        flows_dir=str(flows_dir), store=f"sqlite:///{folder}/ivr.sqlite3", auth_token=TOKEN
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        twilio = Twilio(client, "http://testserver", app.state.services.store)
        frm = "+15550004444"
        assert twilio.post("/sms/texting", sms_form("hi", frm)).status == 200
        shutil.rmtree(folder)
        with caplog.at_level(logging.ERROR):
            # The file is looked at once a second at most: refused within that.
            deadline = time.monotonic() + 10
            while True:
                reply = twilio.post("/sms/texting", sms_form("hours", frm))
                if reply.messages() == [SORRY]:
                    break
                assert time.monotonic() < deadline, "writes to a deleted file went on"
                time.sleep(0.05)
            call = twilio.post("/voice/menu", call_form("CA" + "7" * 32))
        assert call.said().startswith("Sorry") and call.verbs()[-1] == "Hangup"
        assert client.get("/health/ready").status_code == 503
        loud = [r for r in caplog.records if r.levelno == logging.CRITICAL]
        assert len(loud) == 1 and "deleted or replaced while serving" in loud[0].getMessage()
        assert not folder.exists()  # nothing was written where it was, silently or not


def test_a_flow_file_added_while_serving_is_served_at_once(
    app_twilio: Twilio, flows_dir: Path
) -> None:
    assert app_twilio.post("/voice/added", call_form("CA" + "8" * 32)).status == 404
    text = (ROOT / "tests" / "flows" / "menu.yaml").read_text()
    (flows_dir / "added.yaml").write_text(text.replace("Press 1 for sales", "Added, press 1"))
    reply = app_twilio.post("/voice/added", call_form("CA" + "9" * 32))
    assert reply.status == 200 and reply.said().startswith("Added, press 1")
    assert "added" in app_twilio.client.get("/health").json()["flows"]


def test_a_broken_flow_file_added_is_not_served_until_fixed(
    app_twilio: Twilio, flows_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (flows_dir / "later.yaml").write_text("states:\n  a:\n    say: hi\n    next: nowhere\n")
    with caplog.at_level(logging.ERROR):
        assert app_twilio.post("/voice/later", call_form("CA" + "a" * 32)).status == 404
        assert app_twilio.post("/voice/later", call_form("CA" + "b" * 32)).status == 404
    assert [r.getMessage().count("nowhere") > 0 for r in caplog.records] == [True]
    for name in ("../menu", ".hidden", "menu.yaml"):
        assert app_twilio.post(f"/voice/{name}", call_form("CA" + "c" * 32)).status == 404


def test_a_refused_signature_says_the_url_it_was_checked_against(
    app_twilio: Twilio, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        r = app_twilio.post("/sms/texting?x=1", sms_form("hi"), signature="bad")
    assert r.status == 403
    [line] = [rec.getMessage() for rec in caplog.records if "refused" in rec.getMessage()]
    assert "checked against the URL http://testserver/sms/texting?x=1" in line
    assert "wrong X-Twilio-Signature" in line


def test_a_retried_first_text_gets_the_same_reply_and_starts_one_conversation(
    app_twilio: Twilio,
) -> None:
    frm = "+15550002323"
    hi = sms_form("hi", frm)
    first = app_twilio.post("/sms/texting", hi)
    again = app_twilio.post("/sms/texting", hi)  # Twilio's retry: the same MessageSid
    assert (
        first.messages() == again.messages() and first.messages()[0] == "Hi from the texting line."
    )
    [session] = app_twilio.store.conversations(Filters(number=frm), 10)
    assert [s.state for s in session.path if s.event == "enter"] == ["hello", "main"]
