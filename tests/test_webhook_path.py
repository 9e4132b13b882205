"""The one path of every webhook, over HTTP: any failure is the channel's apology, logged once."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from conftest import TOKEN, Twilio, call_form, sign, sms_form
from starlette.testclient import TestClient

from ivr.settings import Settings
from ivr.web.app import create_app


def down(*args: object, **kwargs: object) -> object:
    raise OSError("the store went away")


def failures(caplog: pytest.LogCaptureFixture, channel: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == f"ivr.web.{channel}" and r.levelno >= logging.ERROR
    ]


def test_an_sms_while_the_store_fails_is_an_apology_logged_once(
    app_twilio: Twilio, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first = app_twilio.post("/sms/texting", sms_form("hello"))
    assert first.status == 200 and first.messages()[-1].startswith("Reply HOURS")
    # The opt-out lookup comes first, then the update: both fail, the session can still be read.
    for name in ("opted_out", "update", "update_now"):
        monkeypatch.setattr(app_twilio.store, name, down)
    with caplog.at_level(logging.ERROR):
        reply = app_twilio.post("/sms/texting", sms_form("hours"))
    assert reply.status == 200
    assert reply.messages() == ["Sorry, something went wrong on our side. Please try again later."]
    [line] = failures(caplog, "sms")
    assert "flow texting" in line and "state main" in line
    assert "conversation sms:+15559990000:+15551230000" in line


def test_an_sms_while_the_whole_store_is_gone_still_answers(
    app_twilio: Twilio, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("opted_out", "update", "update_now", "load", "set_opt_out"):
        monkeypatch.setattr(app_twilio.store, name, down)
    with caplog.at_level(logging.ERROR):
        stop = app_twilio.post("/sms/texting", sms_form("STOP"))
    assert stop.status == 200 and stop.root.tag == "Response"
    [line] = failures(caplog, "sms")
    assert "flow texting, state ?, conversation sms:+15559990000:+15551230000" in line


def test_a_call_while_the_store_fails_is_a_spoken_apology_logged_once(
    app_twilio: Twilio, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sid = "CA" + os.urandom(16).hex()
    reply = app_twilio.post("/voice/menu", call_form(sid))
    assert reply.status == 200
    for name in ("update", "update_now"):
        monkeypatch.setattr(app_twilio.store, name, down)
    with caplog.at_level(logging.ERROR):
        failed = app_twilio.follow(reply, "Gather", call_form(sid, Digits="1"))
    assert failed.status == 200
    assert failed.said().startswith("Sorry") and failed.verbs()[-1] == "Hangup"
    [line] = failures(caplog, "voice")
    assert f"flow menu, state main, conversation {sid}" in line


def test_a_form_with_a_file_part_is_refused_not_a_500(app_twilio: Twilio) -> None:
    url = app_twilio.base + "/voice/menu"
    form = call_form("CA" + "1" * 32)
    for path in ("/voice/menu", "/sms/texting", "/voice/menu/status"):
        r = app_twilio.client.post(
            app_twilio.base + path,
            data=form,
            files={"RecordingUrl": ("x.wav", b"RIFF....", "audio/wav")},
            headers={"X-Twilio-Signature": sign(url, form)},
        )
        assert (r.status_code, r.text) == (403, "Invalid or missing Twilio signature."), path


def test_the_app_closes_its_store_when_it_shuts_down(flows_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "ivr.sqlite3"
    settings = Settings(flows_dir=str(flows_dir), store=f"sqlite:///{db}", auth_token=TOKEN)
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        twilio = Twilio(client, "http://testserver", app.state.services.store)
        for _ in range(3):  # webhooks on the event loop and in threads open connections
            assert twilio.post("/sms/texting", sms_form("hello")).status == 200
        assert Path(f"{db}-wal").exists()
    # SQLite removes the write-ahead log when the last connection to the file closes.
    assert not Path(f"{db}-wal").exists()
