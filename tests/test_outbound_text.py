"""`ivr text`: the first texts go through the REST API, the reply goes on through /sms/FLOW."""

from __future__ import annotations

from pathlib import Path

import pytest
import twilio_rest_standin as rest
from outbound_support import (
    OURS,
    PERSON,
    app_client,
    app_settings,
    messages,
    post_webhook,
    start_one,
    texted,
    twilio_env,
    use_env,
    write_flows,
)

from ivr.engine.session import conversation_key
from ivr.store import open_store

LONG = """\
states:
  notice:
    say: "{{ notice }}"
    save: reply
"""
SILENT = """\
states:
  ask:
    save: reply
"""
SURVEY = """\
states:
  start:
    switch: {survey_running: on}
    text:
      to: "+15555550100"
      body: "A survey went to {{ caller }}."
    next: ask
  ask:
    say: How did we do? Reply 1 to 5.
    save: score
"""


@pytest.fixture
def flows(
    tmp_path: Path, standin: rest.Standin, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    use_env(monkeypatch, twilio_env(standin, store_url))
    return write_flows(tmp_path, long=LONG, silent=SILENT, survey=SURVEY)


def text(flows: Path, *variables: str, to: str = PERSON, flow: str = "reminder") -> int:
    return start_one("text", flows, flow, to, OURS, list(variables))


def test_text_sends_the_first_question_and_the_reply_continues_the_conversation(
    flows: Path, standin: rest.Standin, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert text(flows, "name=Ann", "day=Tuesday") == 0
    sid = capsys.readouterr().out.strip()
    assert sid.startswith("SM") and len(sid) == 34
    [request] = standin.posts("Messages")
    assert request.path == f"/2010-04-01/Accounts/{rest.ACCOUNT_SID}/Messages.json"
    assert request.form == {
        "To": [PERSON],
        "From": [OURS],
        "Body": [
            "Hello Ann, this is Acme Plumbing about your visit on Tuesday. Press 1 or reply "
            "YES to confirm, 2 or NO to cancel."
        ],
    }
    session = open_store(store_url).load(conversation_key(OURS, PERSON))
    assert session is not None and session.state == "hello" and session.waiting == "answer"

    with app_client(app_settings(flows, store_url)) as client:
        reply = post_webhook(client, "", "/sms/reminder", texted("Yes"))
    assert messages(reply) == ["Thanks Ann, see you on Tuesday."]
    [done] = open_store(store_url).history("reminder")
    assert done.outcome == "completed" and done.caller == PERSON and done.called == OURS


def test_what_the_first_step_does_besides_texting_is_kept_with_the_conversation(
    flows: Path, standin: rest.Standin, store_url: str
) -> None:
    assert text(flows, flow="survey") == 0
    [question] = standin.posts("Messages")
    assert question.field("Body") == "How did we do? Reply 1 to 5."
    store = open_store(store_url)
    try:
        [office] = store.outgoing("survey")  # sent by the server's delivery, like a webhook's
        assert (office.channel, office.to, office.sender) == ("sms", "+15555550100", OURS)
        assert office.body == f"A survey went to {PERSON}."
        assert office.status == "pending"
        switch = store.switches()["survey_running"]
        assert switch.on and switch.by == f"text conversation with {PERSON}"
    finally:
        store.close()


def test_a_number_that_texted_stop_is_never_texted(
    flows: Path, standin: rest.Standin, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with app_client(app_settings(flows, store_url)) as client:
        assert messages(post_webhook(client, "", "/sms/reminder", texted("STOP"))) == []
    assert text(flows, "name=Ann") == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {PERSON} texted STOP and has opted out of texts: not texting it "
        "(it can text START to opt back in)\n"
    )
    assert standin.requests == []

    with app_client(app_settings(flows, store_url)) as client:
        post_webhook(client, "", "/sms/reminder", texted("START"))
    assert text(flows, "name=Ann") == 0
    assert len(standin.posts("Messages")) == 1


def test_a_long_text_goes_out_in_parts(flows: Path, standin: rest.Standin) -> None:
    words = " ".join(f"word{i}" for i in range(400))  # about 3,000 characters
    assert text(flows, f"notice={words}", flow="long") == 0
    bodies = [r.field("Body") for r in standin.posts("Messages")]
    assert len(bodies) == 2 and all(len(b) <= 1600 for b in bodies)
    assert " ".join(bodies) == words


def test_a_flow_that_says_nothing_first_is_refused(
    flows: Path, standin: rest.Standin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert text(flows, flow="silent") == 2
    assert "flow 'silent' says nothing before it waits" in capsys.readouterr().err
    assert standin.requests == []


def test_a_new_text_replaces_a_conversation_under_way(
    flows: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert text(flows, "name=Ann") == 0
    assert text(flows, "name=Annie") == 0
    store = open_store(store_url)
    live = store.load(conversation_key(OURS, PERSON))
    assert live is not None and live.vars["name"] == "Annie"
    outcomes = sorted(s.outcome for s in store.history("reminder"))
    assert outcomes == ["", "replaced"]
