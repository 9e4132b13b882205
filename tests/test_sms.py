"""SMS rules of the contract, through the real app with signed webhooks."""

from __future__ import annotations

from typing import Any

from conftest import Twilio, sign, sms_form

from ivr.engine.actions import split_sms


def text(
    twilio: Twilio, body: str, frm: str = "+15551230000", flow: str = "texting", **extra: str
) -> list[str]:
    reply = twilio.post(f"/sms/{flow}", sms_form(body, frm, **extra))
    assert reply.status == 200, reply.text
    assert reply.root.tag == "Response"
    return reply.messages()


def store(twilio: Twilio) -> Any:
    return twilio.store


def test_first_text_starts_the_flow_one_message_per_state(twilio: Twilio) -> None:
    assert text(twilio, "hello") == [
        "Hi from the texting line.",
        "Reply HOURS, BOOK, NOTE or CALL.",
    ]


def test_first_text_that_answers_the_first_wait_is_taken_at_once(twilio: Twilio) -> None:
    assert text(twilio, "HOURS") == [
        "Hi from the texting line.",
        "We are open 9 to 5.",
        "Reply HOURS, BOOK, NOTE or CALL.",
    ]


def test_answers_ignore_case_spaces_punctuation_and_find_whole_words(twilio: Twilio) -> None:
    text(twilio, "hi")
    assert text(twilio, "  Hours! ")[0] == "We are open 9 to 5."
    assert text(twilio, "I'd like to book please")[0].startswith("Which day?")
    assert text(twilio, "tomorrow") == [
        "Sorry, that isn't one of the options. Which day? Reply with a date like 2026-12-01."
    ]
    assert text(twilio, "2026-12-01") == ["Booked for 2026-12-01."]


def test_two_answers_in_one_text_are_a_no_match_and_exact_wins(twilio: Twilio) -> None:
    text(twilio, "hi")
    assert text(twilio, "book or call")[0].startswith("Sorry, I don't know that one.")
    assert text(twilio, "what are your opening hours")[0] == "We are open 9 to 5."
    # Back in the menu the count starts again; then the no-match lines escalate.
    assert text(twilio, "call book")[0].startswith("Sorry, I don't know that one.")
    assert text(twilio, "zzz")[0].startswith("Try HOURS or BOOK.")


def test_shortcut_after_own_choices(twilio: Twilio) -> None:
    text(twilio, "hi")
    text(twilio, "book")
    assert text(twilio, "MENU") == ["Reply HOURS, BOOK, NOTE or CALL."]


def test_record_keeps_the_next_text_and_media(twilio: Twilio) -> None:
    text(twilio, "hi")
    assert text(twilio, "note") == ["Send your message."]
    reply = text(
        twilio, "The sink leaks", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1"
    )
    assert reply == ["Thanks, we got: The sink leaks"]
    [message] = store(twilio).messages("texting")
    assert message.text == "The sink leaks"
    assert message.media == ("https://api.twilio.com/media/ME1",)


def test_dial_counts_as_not_answered_and_hangup_ends(twilio: Twilio) -> None:
    text(twilio, "hi")
    assert text(twilio, "call") == ["We can't call over text. Ring us at 555-0100."]
    # That conversation ended: the next text starts afresh.
    assert text(twilio, "yes") == ["Hi from the texting line.", "Confirmed."]
    assert text(twilio, "anything")[0] == "Hi from the texting line."


def test_stop_start_help(twilio: Twilio) -> None:
    frm = "+15557770000"
    text(twilio, "hi", frm)
    assert text(twilio, "STOP", frm) == []
    s = store(twilio)
    assert s.opted_out(frm, "+15559990000")
    assert s.load("sms:+15559990000:" + frm) is None  # the conversation ended
    assert text(twilio, "hours", frm) == []  # nothing is sent to an opted-out number
    assert text(twilio, "help", frm) == [
        f"Texting line for {frm}. Reply MENU for options, STOP to stop."
    ]
    assert text(twilio, "yes", frm) == []  # YES opts an opted-out number back in
    assert not s.opted_out(frm, "+15559990000")
    assert text(twilio, "hours", frm)[1] == "We are open 9 to 5."
    for word in ("stopall", "Unsubscribe", "cancel", "END", "quit"):
        assert text(twilio, word, frm) == []
        assert s.opted_out(frm)
        assert text(twilio, "start", frm) == []


def test_conversations_are_per_number_pair(twilio: Twilio) -> None:
    text(twilio, "hi", "+15550000001")
    text(twilio, "book", "+15550000001")
    # Another texter is at the start, not in the booking.
    assert text(twilio, "2026-01-01", "+15550000002")[0] == "Hi from the texting line."
    assert text(twilio, "2026-01-01", "+15550000001") == ["Booked for 2026-01-01."]


def test_timed_out_conversation_is_never_resumed(twilio: Twilio) -> None:
    text(twilio, "hi")
    text(twilio, "book")
    s = store(twilio)
    key = "sms:+15559990000:+15551230000"

    def expire(before: Any) -> tuple[Any, None]:
        return before, None

    s.update(key, expire, -1.0)  # as if 30 minutes had passed
    assert text(twilio, "2026-01-01")[0] == "Hi from the texting line."


def test_bad_input_gives_valid_twiml(twilio: Twilio) -> None:
    assert text(twilio, "")[0] == "Hi from the texting line."
    assert text(twilio, "") == ["Please send a word. Reply HOURS, BOOK, NOTE or CALL."]
    weird = "\x00\x07 مرحبا 👋🏽 \u202e" + "x" * 2000
    reply = text(twilio, weird)
    assert reply and reply[0].startswith("Sorry")
    text(twilio, "book")
    assert text(twilio, "2026-02-02") == ["Booked for 2026-02-02."]


def test_long_replies_are_split_at_1600() -> None:
    parts = split_sms("word " * 700)
    assert len(parts) == 3
    assert all(len(p) <= 1600 for p in parts)
    assert " ".join(parts).split() == ["word"] * 700


def test_signature_and_unknown_flow(twilio: Twilio) -> None:
    form = sms_form("hi")
    assert twilio.post("/sms/texting", form, signature="").status == 403
    assert twilio.post("/sms/nope", form).status == 404
    # A signature for other contents: refused, and nothing was kept.
    forged = sign("http://testserver/sms/texting", form)
    assert twilio.post("/sms/texting", {**form, "Body": "changed"}, signature=forged).status == 403
    assert store(twilio).history("texting") == []


def test_control_characters_echoed_back_still_give_valid_twiml(twilio: Twilio) -> None:
    text(twilio, "hi")
    text(twilio, "note")
    body = "call\x00 me\x07 back \u202eplease\u202c 👋🏽"
    reply = text(twilio, body)  # parsing the reply as XML is part of `text`
    assert reply == ["Thanks, we got: call me back \u202eplease\u202c 👋🏽"]
    [message] = store(twilio).messages("texting")
    assert message.text == body  # what the texter sent is kept as it came
