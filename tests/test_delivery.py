"""The delivery task against a real SMTP server (aiosmtpd) and the Twilio REST stand-in, alone
and in the app, whose webhooks wake it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import twilio_rest_standin as rest
from conftest import TOKEN, Twilio, call_form, until
from smtp_server import Mailbox, smtp_server
from starlette.testclient import TestClient

from ivr.engine.session import Session
from ivr.flow.loader import load_flow_text
from ivr.outbound.delivery import Delivery, Timing, compose
from ivr.settings import Settings
from ivr.store import Store, open_store
from ivr.store.base import Effects, Outgoing
from ivr.web.app import create_app

if TYPE_CHECKING:
    from twilio.rest import Client

OURS = "+15005550006"
CALLER = "+15551230001"
OFFICE = "+15551239999"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("memory://")
    yield s
    s.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def deliver(store: Store, standin: rest.Standin, smtp: str, clock: Clock) -> Delivery:
    settings = Settings(
        account_sid=rest.ACCOUNT_SID,
        auth_token=rest.AUTH_TOKEN,
        api_base=standin.base,
        smtp_url=smtp,
        email_from="ivr@clinic.example.com",
    )
    return Delivery(store, settings, Timing(retry=10.0, attempts=3), clock)


def enqueue(store: Store, *items: Outgoing) -> None:
    def change(before: Session | None) -> tuple[Session | None, None]:
        return None, None

    store.update("CA1", change, 60, lambda _: Effects(outbox=items))


def note(channel: str, to: str, at: float, transcription: str = "") -> Outgoing:
    return Outgoing(
        channel=channel,  # type: ignore[arg-type]
        to=to,
        body=f"Voicemail on desk from {CALLER}, Tue 01 Dec 2026 10:00 EST, 12 seconds.",
        kind="note",
        sender=OURS,
        subject=f"Voicemail from {CALLER} (desk)",
        flow="desk",
        conversation="CA1",
        recording="https://api.twilio.com/rec/RE1",
        transcription=transcription,
        created=at,
        due=at,
    )


def test_a_note_goes_by_email_and_by_text(
    store: Store, standin: rest.Standin, mailbox: Mailbox
) -> None:
    clock = Clock()
    enqueue(
        store, note("email", "desk@clinic.example.com", clock.now), note("sms", OFFICE, clock.now)
    )
    store.set_transcription("CA1", "https://api.twilio.com/rec/RE1", "Please call me back")
    delivery = deliver(store, standin, mailbox.url, clock)
    assert asyncio.run(delivery.send_due()) == 2
    [mail] = mailbox.messages()
    assert mail["To"] == "desk@clinic.example.com"
    assert mail["From"] == "ivr@clinic.example.com"
    assert mail["Subject"] == f"Voicemail from {CALLER} (desk)"
    text = mail.get_content()
    assert "Please call me back" in text and "Listen: https://api.twilio.com/rec/RE1" in text
    [post] = standin.posts("Messages")
    assert (post.field("To"), post.field("From")) == (OFFICE, OURS)
    assert "Please call me back" in post.field("Body")
    sent = {o.channel: o for o in store.outgoing()}
    assert sent["sms"].status == sent["email"].status == "sent"
    assert sent["sms"].detail.startswith("SM") and sent["email"].detail.startswith("<")
    assert asyncio.run(delivery.send_due()) == 0  # nothing is sent twice


def test_nothing_is_texted_to_a_number_that_opted_out(
    store: Store, standin: rest.Standin, mailbox: Mailbox
) -> None:
    clock = Clock()
    store.set_opt_out(CALLER, OURS, True)
    enqueue(store, Outgoing("sms", CALLER, "Our address", sender=OURS, created=clock.now))
    asyncio.run(deliver(store, standin, mailbox.url, clock).send_due())
    assert standin.posts("Messages") == []
    [item] = store.outgoing()
    assert (item.status, item.detail) == ("skipped", "opted out: the number texted STOP")


def test_a_refused_email_is_tried_again_later(
    store: Store, standin: rest.Standin, mailbox: Mailbox
) -> None:
    clock = Clock()
    mailbox.refuse.append("451 4.3.0 Try again later")
    enqueue(store, note("email", "desk@clinic.example.com", clock.now))
    delivery = deliver(store, standin, mailbox.url, clock)
    asyncio.run(delivery.send_due())
    [item] = store.outgoing()
    assert (item.status, item.attempts, item.due) == ("pending", 1, clock.now + 10)
    assert "451" in item.detail and mailbox.messages() == []
    clock.now += 9
    assert asyncio.run(delivery.send_due()) == 0  # not before its time
    clock.now += 1
    assert asyncio.run(delivery.send_due()) == 1
    assert len(mailbox.messages()) == 1 and store.outgoing()[0].status == "sent"


def test_a_server_that_cant_be_reached_is_tried_again_then_given_up(
    store: Store, standin: rest.Standin
) -> None:
    clock = Clock()
    enqueue(store, note("email", "desk@clinic.example.com", clock.now))
    from conftest import free_port

    delivery = deliver(store, standin, f"smtp://127.0.0.1:{free_port()}", clock)
    for pause in (10, 20):  # doubling
        asyncio.run(delivery.send_due())
        assert store.outgoing()[0].due == clock.now + pause
        clock.now += pause
    asyncio.run(delivery.send_due())
    [item] = store.outgoing()
    assert (item.status, item.attempts) == ("failed", 3)
    assert "can't reach the mail server" in item.detail


def test_twilio_refusals_for_good_and_for_now(store: Store, standin: rest.Standin) -> None:
    clock = Clock()
    invalid = Outgoing("sms", "+15005550001", "hi", sender=OURS, created=clock.now)
    broken = replace(invalid, to=rest.BROKEN)
    enqueue(store, invalid, broken)
    asyncio.run(deliver(store, standin, "", clock).send_due())
    found = {o.to: o for o in store.outgoing()}
    assert found["+15005550001"].status == "failed"
    assert "21211" in found["+15005550001"].detail
    assert (found[rest.BROKEN].status, found[rest.BROKEN].attempts) == ("pending", 1)


def test_a_long_transcription_is_cut_to_fit_one_text() -> None:
    item = note("sms", OFFICE, 0.0, transcription="word " * 500)
    text = compose(item)
    assert len(text) <= 1600 and text.endswith("Listen: https://api.twilio.com/rec/RE1")
    assert "…" in text
    assert "word " * 20 in compose(replace(item, channel="email"))


VOICEMAIL = f"""\
notify:
  sms: ["{OFFICE}"]
  email: ["desk@clinic.example.com"]
states:
  voicemail:
    say: Please leave your message after the tone.
    record: {{max_length: 120, transcribe: true}}
    next: bye
  bye:
    say: Goodbye.
"""


class Watched(Delivery):
    """The app's delivery, but it looks at the outbox once an hour unless woken; `looks` says
    how many items each look took, in order."""

    def __init__(self, store: Store, settings: Settings, client: Client | None) -> None:
        super().__init__(store, settings, Timing(poll=3600), client=client)
        self.looks: list[int] = []

    async def send_due(self, limit: int = 10) -> int:
        taken = await super().send_due(limit)
        self.looks.append(taken)
        return taken


def test_a_transcription_wakes_the_delivery_the_notes_waited_for(
    standin: rest.Standin, mailbox: Mailbox, tmp_path: Path
) -> None:
    flow, problems = load_flow_text(VOICEMAIL, name="desk")
    assert flow is not None, problems
    settings = Settings(
        store=f"sqlite:///{tmp_path}/ivr.sqlite3",
        auth_token=TOKEN,
        account_sid=rest.ACCOUNT_SID,
        api_key=rest.API_KEY,
        api_secret=rest.API_SECRET,
        api_base=standin.base,
        smtp_url=mailbox.url,
    )
    app = create_app(settings, flows={"desk": flow})
    svc = app.state.services
    delivery = svc.delivery = Watched(svc.store, settings, svc.twilio)
    sid, url = "CA" + "7" * 32, "https://api.twilio.com/rec/RE7"
    with TestClient(app, base_url="http://testserver") as client:
        twilio = Twilio(client, "http://testserver", svc.store)
        until(lambda: delivery.looks == [0], "the first look at the outbox", 10)
        record = twilio.post("/voice/desk", call_form(sid, From=CALLER, To=OURS))
        form = call_form(sid, RecordingUrl=url, RecordingDuration="12")
        assert "Goodbye." in twilio.follow(record, "Record", form).said()
        # The notes written woke the delivery, which found them waiting for the words.
        until(lambda: delivery.looks == [0, 0], "the look the recording woke", 10)
        assert [o.status for o in svc.store.outgoing()] == ["pending", "pending"]
        form = call_form(sid, RecordingUrl=url, TranscriptionText="Please call me back")
        assert twilio.post("/voice/desk/transcription", form).status == 204
        # Sent by a look the transcription woke: the next one unwoken is an hour away.
        until(
            lambda: len(mailbox.messages()) == len(standin.posts("Messages")) == 1, "the notes", 10
        )
        until(lambda: {o.status for o in svc.store.outgoing()} == {"sent"}, "both marked sent", 10)
    assert delivery.looks[:3] == [0, 0, 2]
    assert "Please call me back" in mailbox.messages()[0].get_content()
    assert "Please call me back" in standin.posts("Messages")[0].field("Body")
