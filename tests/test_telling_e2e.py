"""Texts, notes and switches end to end: `ivr serve` as a process, a real SMTP server (aiosmtpd)
and the Twilio REST stand-in on 127.0.0.1, a real SQLite store shared by the processes."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import twilio_rest_standin as rest
from conftest import (
    ROOT,
    Server,
    Twilio,
    Twiml,
    call_form,
    http_client,
    sms_form,
    start_server,
    stop,
)
from redis_server import start_redis
from smtp_server import Mailbox, smtp_server

from ivr.store import open_store
from ivr.store.base import Outgoing

CALLER, OURS = "+15551230001", "+15559990000"
DESK = """\
notify:
  sms: ["+15555550100"]
  email: ["frontdesk@example.com"]
states:
  start:
    branch:
      - if: {switch: closed_today}
        next: closed
      - next: menu
  menu:
    say: For our address, press 1. To leave a message, press 3.
    choices:
      "1": address
      "3": voicemail
  address:
    say: I've texted you our address.
    text: "Acme Plumbing, 12 Main St, Springfield."
    next: menu
  voicemail:
    say: Please leave your message after the tone.
    record: {max_length: 120, transcribe: true}
    next: bye
  bye:
    say: Goodbye.
  closed:
    say: We're closed today.
"""


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "desk.yaml").write_text(DESK)
    return folder


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The servers' one store: SQLite, or (with the parameter "redis") a real redis-server."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path}/ivr.sqlite3"
        return
    proc, url = start_redis(tmp_path)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def serve(
    flows: Path, tmp_path: Path, standin: rest.Standin, mailbox: Mailbox, store_url: str
) -> Iterator[Callable[[], Server]]:
    """Start `ivr serve` on the test's one store, as many times as the test needs."""
    env = {
        "TWILIO_ACCOUNT_SID": rest.ACCOUNT_SID,
        "TWILIO_API_KEY": rest.API_KEY,
        "TWILIO_API_SECRET": rest.API_SECRET,
        "TWILIO_API_BASE": standin.base,
        "IVR_SMTP_URL": mailbox.url,
        "IVR_EMAIL_FROM": "ivr@acme.example.com",
    }
    started: list[Server] = []
    OPENED.clear()

    def start() -> Server:
        log = tmp_path / f"server{len(started)}.log"
        server = start_server(flows, store_url, log, env=env)
        started.append(server)
        return server

    yield start
    for twilio in OPENED:
        twilio.client.close()
        twilio.store.close()
    for server in started:
        if server.proc.poll() is None:
            stop(server)


OPENED: list[Twilio] = []


def phone(server: Server) -> Twilio:
    twilio = Twilio(http_client(), server.url, open_store(server.store))
    OPENED.append(twilio)
    return twilio


def call(twilio: Twilio, sid: str) -> Twiml:
    return twilio.post("/voice/desk", call_form(sid, From=CALLER, To=OURS))


def leave_voicemail(twilio: Twilio, sid: str, seconds: int = 14) -> str:
    menu = call(twilio, sid)
    record = twilio.follow(menu, "Gather", call_form(sid, From=CALLER, To=OURS, Digits="3"))
    url = f"https://api.twilio.com/2010-04-01/Accounts/{rest.ACCOUNT_SID}/Recordings/RE{sid[2:]}"
    form = call_form(sid, RecordingUrl=url, RecordingDuration=str(seconds))
    assert "Goodbye." in twilio.follow(record, "Record", form).said()
    return url


def transcribe(twilio: Twilio, sid: str, url: str, words: str) -> None:
    form = call_form(
        sid, RecordingUrl=url, TranscriptionText=words, TranscriptionStatus="completed"
    )
    assert twilio.post("/voice/desk/transcription", form).status == 204


def until(check: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def outbox(server: Server) -> list[Outgoing]:
    store = open_store(server.store)
    try:
        return store.outgoing(last=1000)
    finally:
        store.close()


def texts_to(standin: rest.Standin, number: str) -> list[rest.Received]:
    return [p for p in standin.posts("Messages") if p.field("To") == number]


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def test_a_voicemail_gives_one_email_and_one_text_with_its_transcription(
    serve: Callable[[], Server], standin: rest.Standin, mailbox: Mailbox, tmp_path: Path
) -> None:
    server = serve()
    twilio, sid = phone(server), new_sid()
    url = leave_voicemail(twilio, sid)
    [note, _] = outbox(server)  # both wait for the transcription
    assert note.status == "pending" and mailbox.messages() == []
    transcribe(twilio, sid, url, "My sink is leaking, please call me back")
    until(
        lambda: len(mailbox.messages()) == 1 and len(texts_to(standin, "+15555550100")) == 1,
        "the email and the text",
    )
    [mail] = mailbox.messages()
    assert mail["To"] == "frontdesk@example.com"
    assert mail["Subject"] == f"Voicemail from {CALLER} (desk)"
    body = mail.get_content()
    assert "My sink is leaking, please call me back" in body
    assert "14 seconds" in body and f"Listen: {url}" in body
    [text] = texts_to(standin, "+15555550100")
    assert text.field("From") == OURS
    assert "My sink is leaking, please call me back" in text.field("Body")
    until(lambda: all(o.status == "sent" for o in outbox(server)), "both marked sent")
    shown = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "messages", "--store", server.store],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert "note by email to frontdesk@example.com: sent" in shown
    assert "note by text to +15555550100: sent" in shown


def test_a_note_is_sent_after_a_kill_9_between_the_recording_and_the_sending(
    serve: Callable[[], Server], standin: rest.Standin, mailbox: Mailbox
) -> None:
    first = serve()
    sid = new_sid()
    url = leave_voicemail(phone(first), sid)
    first.proc.kill()  # kill -9: the notes wait in the store for the transcription
    first.proc.wait(10)
    assert mailbox.messages() == [] and standin.posts("Messages") == []
    second = serve()
    transcribe(phone(second), sid, url, "Call me about the boiler")
    until(lambda: len(mailbox.messages()) == 1, "the email from the second server")
    assert "Call me about the boiler" in mailbox.messages()[0].get_content()
    until(lambda: len(texts_to(standin, "+15555550100")) == 1, "the text")


@pytest.mark.parametrize("store_url", ["sqlite", "redis"], indirect=True)
def test_two_servers_on_one_store_send_each_note_once(
    serve: Callable[[], Server], standin: rest.Standin, mailbox: Mailbox
) -> None:
    servers = [serve(), serve()]
    phones = [phone(s) for s in servers]
    calls = []
    for i in range(6):
        sid = new_sid()
        calls.append((sid, leave_voicemail(phones[i % 2], sid)))
    for i, (sid, url) in enumerate(calls):  # the other server hears of each transcription
        transcribe(phones[(i + 1) % 2], sid, url, f"Message number {i}")
    until(lambda: all(o.status == "sent" for o in outbox(servers[0])), "every note sent", 30)
    assert len(outbox(servers[0])) == 12
    mails = mailbox.messages()
    assert sorted(m.get_content().split('"')[1] for m in mails) == [
        f"Message number {i}" for i in range(6)
    ]
    assert len(texts_to(standin, "+15555550100")) == 6


def test_a_text_during_a_call_goes_to_the_caller_from_the_number_called(
    serve: Callable[[], Server], standin: rest.Standin
) -> None:
    twilio, sid = phone(serve()), new_sid()
    menu = call(twilio, sid)
    heard = twilio.follow(menu, "Gather", call_form(sid, From=CALLER, To=OURS, Digits="1"))
    assert "I've texted you our address." in heard.said()
    until(lambda: len(standin.posts("Messages")) == 1, "the text")
    [text] = standin.posts("Messages")
    assert (text.field("To"), text.field("From")) == (CALLER, OURS)
    assert text.field("Body") == "Acme Plumbing, 12 Main St, Springfield."


def test_a_caller_who_texted_stop_gets_no_text(
    serve: Callable[[], Server], standin: rest.Standin
) -> None:
    server = serve()
    twilio, sid = phone(server), new_sid()
    assert twilio.post("/sms/desk", sms_form("STOP", frm=CALLER, to=OURS)).messages() == []
    menu = call(twilio, sid)
    twilio.follow(menu, "Gather", call_form(sid, From=CALLER, To=OURS, Digits="1"))
    until(lambda: [o.status for o in outbox(server)] == ["skipped"], "the text to be skipped")
    assert standin.posts("Messages") == []


def test_a_switch_turned_by_the_command_changes_the_next_call_until_its_time(
    serve: Callable[[], Server],
) -> None:
    server = serve()
    twilio = phone(server)
    assert "For our address" in call(twilio, new_sid()).said()
    # A short while, and longer ones if a busy machine let it pass before the call was
    # answered: the call says "closed" only when it was answered before the time.
    for ahead in (2.5, 5.0, 10.0):
        until_time = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ahead)).replace(microsecond=0)
        command = [sys.executable, "-m", "ivr.cli", "switch", "closed_today", "on", "--until"]
        command += [until_time.strftime("%Y-%m-%d %H:%M:%S"), "--tz", "UTC"]
        subprocess.run(
            [*command, "--store", server.store], check=True, capture_output=True, cwd=ROOT
        )
        said = call(twilio, new_sid()).said()
        if dt.datetime.now(dt.UTC) < until_time:
            assert said == "We're closed today."
            break
    else:
        raise AssertionError("the machine was too busy to call before the switch's time")
    until(lambda: "For our address" in call(twilio, new_sid()).said(), "the switch to turn off")
    assert dt.datetime.now(dt.UTC) >= until_time
