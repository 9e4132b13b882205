"""The example flows by text, against `ivr serve` over HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import (
    TOKEN,
    Server,
    Twilio,
    copy_flows,
    forget_conversations,
    http_client,
    start_server,
)

from ivr.store import open_store
from ivr.tools.phone import ClientTransport, Texting

ALWAYS_OPEN = 'mon-sun: "00:00-24:00"'


def front_desk(hours: str) -> str:
    """The front desk with opening hours that don't depend on when the test runs."""
    text = (Path(__file__).parent.parent / "flows" / "front_desk.yaml").read_text()
    return (
        text.replace('mon-fri: "08:00-18:00"', hours)
        .replace('      sat: "09:00-12:00"\n', "")
        .replace('closed_on: ["2026-12-25", "2027-01-01"]', "closed_on: []")
    )


@pytest.fixture(scope="module")
def office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`ivr serve` with the front desk always open, or always closed, for the module."""
    # An office with no opening hours at all is always closed.
    hours = ALWAYS_OPEN if request.param == "open" else 'sun: "closed"'
    folder = tmp_path_factory.mktemp(request.param)
    flows = copy_flows(folder)
    (flows / "front_desk.yaml").write_text(front_desk(hours))
    with start_server(flows, f"sqlite:///{folder}/ivr.sqlite3", folder / "server.log") as server:
        yield server


@pytest.fixture
def served(office: Server) -> Iterator[Twilio]:
    forget_conversations(office.store)
    with http_client() as client:
        yield Twilio(client, office.url, open_store(office.store))


def texter(twilio: Twilio, flow: str, frm: str = "+15551230000") -> Callable[[str], list[str]]:
    """Texts from `frm` to the flow's number, sent by the product's own phone (as Twilio)."""
    transport = ClientTransport(twilio.client, twilio.base)
    return Texting(transport, flow, frm, "+15559990000", token=TOKEN).send


MENU = "For opening hours, press 1. To book a visit, press 2. To leave a message, press 3."


@pytest.mark.parametrize("office", ["open"], indirect=True)
def test_front_desk_by_text_books_a_visit(served: Twilio) -> None:
    send = texter(served, "front_desk")
    assert send("hi") == ["Thanks for contacting Acme Plumbing.", MENU]
    assert send("I want to book") == ["Please enter the 5 digit ZIP code of the visit."]
    assert send("123") == [
        "Sorry, that isn't one of the options. Please enter the 5 digit ZIP code of the visit."
    ]
    assert send("12345") == ["You entered 1 2 3 4 5. Press 1 to confirm or 2 to try again."]
    [done] = send("Yes!")
    assert done.startswith("Thank you. We will call you back at + 1 5 5 5 1 2 3 0 0 0 0")
    # The conversation ended: the next text starts afresh, and HOURS answers at once.
    assert send("hours") == [
        "Thanks for contacting Acme Plumbing.",
        "We are open 8 to 6 on weekdays and 9 to noon on Saturdays. I've texted you our address.",
        "Acme Plumbing, 12 Main St, Springfield. Map: https://maps.example.com/acme",
        MENU,
    ]


@pytest.mark.parametrize("office", ["open"], indirect=True)
def test_front_desk_by_text_operator_is_not_answered_so_a_message_is_left(served: Twilio) -> None:
    send = texter(served, "front_desk", "+15551112222")
    send("hi")
    assert send("operator") == [
        "Connecting you now.",
        "Please leave your message after the tone, then hang up or press the pound key.",
    ]
    assert send("My sink leaks, call me") == ["Goodbye."]
    [message] = served.store.messages("front_desk")
    assert (message.caller, message.text, message.state) == (
        "+15551112222",
        "My sink leaks, call me",
        "voicemail",
    )


@pytest.mark.parametrize("office", ["closed"], indirect=True)
def test_front_desk_by_text_when_closed(served: Twilio) -> None:
    send = texter(served, "front_desk")
    assert send("hello?") == [
        "Thanks for contacting Acme Plumbing.",
        "We're closed right now.",
        "Please leave your message after the tone, then hang up or press the pound key.",
    ]
    assert send("STOP") == []
    assert served.store.opted_out("+15551230000")
    assert send("HELP") == ["Acme Plumbing. Text MENU for options or call us at 555-0100."]


@pytest.mark.parametrize("office", ["open"], indirect=True)
def test_sms_keyword_line(served: Twilio) -> None:
    send = texter(served, "sms_keywords")
    [menu] = send("hi")
    assert menu.startswith("Hi from Rise & Shine Bakery! Reply HOURS")
    assert send("where are you?") == [
        "Rise & Shine Bakery is at 12 Mill Street, Springfield, next to the library.",
        "Anything else? Reply MENU for options.",
    ]
    assert send("I'd like to order a cake") == ["Lovely! What name should we put on the order?"]
    assert send("Ada") == [
        "Thanks Ada. Which day would you like to collect it? Reply like 2026-12-24."
    ]
    assert send("Friday")[0].startswith("Please reply with a date like 2026-12-24.")
    assert send("2026-12-24") == ["Which cake? Reply CHOCOLATE, CARROT or LEMON."]
    [done, anything] = send("carrot please")
    assert done.startswith("Got it: a carrot cake for Ada, ready on 2026-12-24.")
    assert send("no thanks") == ["Thanks for texting Rise & Shine Bakery. See you soon!"]
    assert send("HELP") == [
        "Rise & Shine Bakery: text HOURS, MENU, ORDER or ADDRESS. Reply STOP to stop texts."
    ]
