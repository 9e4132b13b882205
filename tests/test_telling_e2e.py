"""Texts, notes and switches end to end: `ivr serve` as a process, a real SMTP server (aiosmtpd)
and the Twilio REST stand-in on 127.0.0.1, a real SQLite (or Redis) store.

The tests that need only a server with the desk flow share one for the module, each starting
as on a fresh one: its store emptied, the stand-in's requests and the mailbox too, fresh call
SIDs. A test about a kill -9 or about two servers on one store starts its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import twilio_rest_standin as rest
from conftest import (
    Server,
    Twilio,
    Twiml,
    call_form,
    forget_conversations,
    http_client,
    launch,
    ready,
    sms_form,
    start_server,
    stop,
    until,
)
from smtp_server import Mailbox, smtp_server

from ivr.cli import main
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


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def standin() -> Iterator[rest.Standin]:
    """The REST stand-in, one for the module: every server here is started pointing at it."""
    server = rest.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("desk") / "flows"
    folder.mkdir()
    (folder / "desk.yaml").write_text(DESK)
    return folder


def environment(standin: rest.Standin, mailbox: Mailbox) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": rest.ACCOUNT_SID,
        "TWILIO_API_KEY": rest.API_KEY,
        "TWILIO_API_SECRET": rest.API_SECRET,
        "TWILIO_API_BASE": standin.base,
        "IVR_SMTP_URL": mailbox.url,
        "IVR_EMAIL_FROM": "ivr@acme.example.com",
    }


def forget_what_was_sent(standin: rest.Standin, mailbox: Mailbox) -> None:
    with standin.lock:
        standin.requests.clear()
    with mailbox.lock:
        mailbox.received.clear()
        mailbox.refuse.clear()


@pytest.fixture(scope="module")
def shared(
    flows: Path, standin: rest.Standin, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One `ivr serve` with the desk flow for the tests that need nothing more."""
    folder = tmp_path_factory.mktemp("shared")
    store, log = f"sqlite:///{folder}/ivr.sqlite3", folder / "server.log"
    server = start_server(flows, store, log, env=environment(standin, mailbox))
    yield server
    stop(server)


@pytest.fixture
def desk(shared: Server, standin: rest.Standin, mailbox: Mailbox) -> Iterator[Twilio]:
    """Twilio in front of the module's server, as on a fresh one."""
    with contextlib.closing(http_client()) as client:
        twilio = Twilio(client, shared.url, open_store(shared.store))
        # What the last test left to send now is sent before its records are forgotten, so
        # that nothing of it reaches this test's stand-in or mailbox.
        until(lambda: not sending(outbox(twilio)), "the last test's texts and notes to go")
        forget_conversations(shared.store)
        path = shared.store.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            db.executescript("DELETE FROM outbox; DELETE FROM switch_changes;")
        forget_what_was_sent(standin, mailbox)
        yield twilio
        twilio.store.close()


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store of a test's own servers: SQLite, or (with the parameter "redis") the test
    process's redis-server, emptied."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path}/ivr.sqlite3"
    url: str = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def serve(
    flows: Path, tmp_path: Path, standin: rest.Standin, mailbox: Mailbox, store_url: str
) -> Iterator[Callable[[int], list[Server]]]:
    """Start `count` `ivr serve` processes of the test's own on its one store, side by side;
    they and their phones (`phone`) are stopped and hung up after the test."""
    forget_what_was_sent(standin, mailbox)
    started: list[Server] = []

    def start(count: int = 1) -> list[Server]:
        logs = [tmp_path / f"server{len(started) + i}.log" for i in range(count)]
        env = environment(standin, mailbox)
        servers = [launch(flows, store_url, log, env=env) for log in logs]
        started.extend(servers)
        return [ready(server) for server in servers]

    yield start
    for twilio in OPENED:
        twilio.client.close()
        twilio.store.close()
    OPENED.clear()
    running = [server for server in started if server.proc.poll() is None]
    for server in running:  # all told to stop, then waited for: they stop side by side
        server.proc.terminate()
    for server in running:
        server.proc.wait(10)


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


def outbox(twilio: Twilio) -> list[Outgoing]:
    """What the outbox of the server behind `twilio` holds, as its store says now."""
    return twilio.store.outgoing(last=1000)


def sending(items: list[Outgoing]) -> list[Outgoing]:
    """The items being sent, or due to be: those waiting for a later time are not."""
    now = time.time()
    return [o for o in items if o.status == "pending" and (o.claim or o.due <= now)]


def texts_to(standin: rest.Standin, number: str) -> list[rest.Received]:
    return [p for p in standin.posts("Messages") if p.field("To") == number]


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def test_a_voicemail_gives_one_email_and_one_text_with_its_transcription(
    desk: Twilio,
    shared: Server,
    standin: rest.Standin,
    mailbox: Mailbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sid = new_sid()
    url = leave_voicemail(desk, sid)
    [note, _] = outbox(desk)  # both wait for the transcription
    assert note.status == "pending" and mailbox.messages() == []
    transcribe(desk, sid, url, "My sink is leaking, please call me back")
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
    until(lambda: all(o.status == "sent" for o in outbox(desk)), "both marked sent")
    assert main(["messages", "--store", shared.store]) == 0
    shown = capsys.readouterr().out
    assert "note by email to frontdesk@example.com: sent" in shown
    assert "note by text to +15555550100: sent" in shown


def test_a_note_is_sent_after_a_kill_9_between_the_recording_and_the_sending(
    serve: Callable[[int], list[Server]], standin: rest.Standin, mailbox: Mailbox
) -> None:
    [first] = serve(1)
    sid = new_sid()
    url = leave_voicemail(phone(first), sid)
    first.proc.kill()  # kill -9: the notes wait in the store for the transcription
    first.proc.wait(10)
    assert mailbox.messages() == [] and standin.posts("Messages") == []
    [second] = serve(1)
    transcribe(phone(second), sid, url, "Call me about the boiler")
    until(lambda: len(mailbox.messages()) == 1, "the email from the second server")
    assert "Call me about the boiler" in mailbox.messages()[0].get_content()
    until(lambda: len(texts_to(standin, "+15555550100")) == 1, "the text")


@pytest.mark.parametrize("store_url", ["sqlite", "redis"], indirect=True)
def test_two_servers_on_one_store_send_each_note_once(
    serve: Callable[[int], list[Server]], standin: rest.Standin, mailbox: Mailbox
) -> None:
    servers = serve(2)
    phones = [phone(s) for s in servers]
    calls = []
    for i in range(6):
        sid = new_sid()
        calls.append((sid, leave_voicemail(phones[i % 2], sid)))
    for i, (sid, url) in enumerate(calls):  # the other server hears of each transcription
        transcribe(phones[(i + 1) % 2], sid, url, f"Message number {i}")
    until(lambda: all(o.status == "sent" for o in outbox(phones[0])), "every note sent", 30)
    assert len(outbox(phones[0])) == 12
    mails = mailbox.messages()
    assert sorted(m.get_content().split('"')[1] for m in mails) == [
        f"Message number {i}" for i in range(6)
    ]
    assert len(texts_to(standin, "+15555550100")) == 6


def test_a_text_during_a_call_goes_to_the_caller_from_the_number_called(
    desk: Twilio, standin: rest.Standin
) -> None:
    sid = new_sid()
    menu = call(desk, sid)
    heard = desk.follow(menu, "Gather", call_form(sid, From=CALLER, To=OURS, Digits="1"))
    assert "I've texted you our address." in heard.said()
    until(lambda: len(standin.posts("Messages")) == 1, "the text")
    [text] = standin.posts("Messages")
    assert (text.field("To"), text.field("From")) == (CALLER, OURS)
    assert text.field("Body") == "Acme Plumbing, 12 Main St, Springfield."


def test_a_caller_who_texted_stop_gets_no_text(desk: Twilio, standin: rest.Standin) -> None:
    sid = new_sid()
    assert desk.post("/sms/desk", sms_form("STOP", frm=CALLER, to=OURS)).messages() == []
    menu = call(desk, sid)
    desk.follow(menu, "Gather", call_form(sid, From=CALLER, To=OURS, Digits="1"))
    until(lambda: [o.status for o in outbox(desk)] == ["skipped"], "the text to be skipped")
    assert standin.posts("Messages") == []


def test_a_switch_turned_by_the_command_changes_the_next_call_until_its_time(
    desk: Twilio, shared: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "For our address" in call(desk, new_sid()).said()
    # Half a second ahead, and longer if a busy machine let that pass before the command
    # turned the switch or before the call was answered: the call says "closed" only when it
    # was answered before the time.
    for ahead in (0.5, 2.0, 8.0):
        until_time = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ahead)
        command = ["switch", "closed_today", "on", "--tz", "UTC", "--store", shared.store]
        code = main([*command, "--until", until_time.strftime("%Y-%m-%d %H:%M:%S.%f")])
        if code != 0:
            assert "has already passed" in capsys.readouterr().err
            continue
        said = call(desk, new_sid()).said()
        if dt.datetime.now(dt.UTC) < until_time:
            assert said == "We're closed today."
            break
    else:
        raise AssertionError("the machine was too busy to call before the switch's time")
    # From its time on, the switch is off: the first call after it hears the menu again.
    until(lambda: dt.datetime.now(dt.UTC) >= until_time, "the switch's time")
    assert "For our address" in call(desk, new_sid()).said()
