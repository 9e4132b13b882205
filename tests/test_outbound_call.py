"""`ivr call`: Twilio is asked for the call, and the answered call runs the flow with its vars."""

from __future__ import annotations

from pathlib import Path

import pytest
import twilio_rest_standin as rest
from outbound_support import (
    OURS,
    PERSON,
    PUBLIC,
    answered,
    app_client,
    app_settings,
    call_form_sent,
    call_path,
    gather_action,
    post_webhook,
    pressed,
    said,
    start_one,
    status_path,
    token_of,
)

from ivr.outbound.commands import outbound
from ivr.store import open_store


def call(flows: Path, to: str = PERSON, *variables: str, from_: str = OURS) -> int:
    return start_one("call", flows, "reminder", to, from_, list(variables))


def test_call_asks_twilio_then_the_answered_call_speaks_the_variables(
    flows: Path, standin: rest.Standin, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(flows, PERSON, "name=Ann", "day=Tuesday") == 0
    sid = capsys.readouterr().out.strip()
    assert sid.startswith("CA") and len(sid) == 34

    [request] = standin.posts("Calls")
    assert request.path == f"/2010-04-01/Accounts/{rest.ACCOUNT_SID}/Calls.json"
    assert request.user == f"{rest.ACCOUNT_SID}:{rest.AUTH_TOKEN}"
    assert request.form == call_form_sent(token_of(request))

    with app_client(app_settings(flows, store_url)) as client:
        first = post_webhook(client, "", call_path(request), answered(sid))
        assert "Hello Ann, this is Acme Plumbing about your visit on Tuesday." in said(first)
        action = gather_action(first).removeprefix(PUBLIC)
        second = post_webhook(client, "", action, pressed(sid, "1"))
        assert said(second) == "Thanks Ann, see you on Tuesday."

    [session] = open_store(store_url).history("reminder")
    assert (session.caller, session.called, session.outcome) == (PERSON, OURS, "completed")
    assert session.vars["name"] == "Ann"


def test_variables_never_travel_in_a_url(flows: Path, standin: rest.Standin) -> None:
    assert call(flows, PERSON, "name=Secret Sauce") == 0
    [request] = standin.posts("Calls")
    assert not any("Secret" in value for values in request.form.values() for value in values)


def test_api_key_and_secret_authenticate_instead_of_the_auth_token(
    flows: Path, standin: rest.Standin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    monkeypatch.setenv("TWILIO_API_KEY", rest.API_KEY)
    monkeypatch.setenv("TWILIO_API_SECRET", rest.API_SECRET)
    assert call(flows, PERSON, "name=Ann") == 0
    [request] = standin.posts("Calls")
    assert request.user == f"{rest.API_KEY}:{rest.API_SECRET}"
    assert f"/Accounts/{rest.ACCOUNT_SID}/" in request.path


def test_a_call_nobody_answers_is_recorded_once_by_the_status_callback(
    flows: Path, standin: rest.Standin, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(flows, PERSON, "name=Ann") == 0
    sid = capsys.readouterr().out.strip()
    [request] = standin.posts("Calls")
    store = open_store(store_url)
    assert store.load(sid) is None and store.history() == []  # asked for, not under way
    form = {**answered(sid), "CallStatus": "no-answer"}
    with app_client(app_settings(flows, store_url)) as client:
        for _ in range(2):  # the second time, as if Twilio had sent it again
            assert (
                client.post(
                    status_path(request),
                    data=form,
                    headers={"X-Twilio-Signature": _signature(PUBLIC + status_path(request), form)},
                ).status_code
                == 204
            )
    [past] = store.history()
    assert (past.key, past.outcome, past.caller, past.called) == (sid, "no-answer", PERSON, OURS)
    assert past.vars["name"] == "Ann"
    assert store.load(sid) is None and store.preset(token_of(request)) is None
    store.close()


def test_an_answered_call_that_ended_is_not_recorded_again_by_its_status(
    flows: Path, standin: rest.Standin, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(flows, PERSON, "name=Ann") == 0
    sid = capsys.readouterr().out.strip()
    [request] = standin.posts("Calls")
    with app_client(app_settings(flows, store_url)) as client:
        first = post_webhook(client, "", call_path(request), answered(sid))
        post_webhook(client, "", gather_action(first).removeprefix(PUBLIC), pressed(sid, "2"))
        form = {**answered(sid), "CallStatus": "completed"}
        signature = _signature(PUBLIC + status_path(request), form)
        client.post(status_path(request), data=form, headers={"X-Twilio-Signature": signature})
    store = open_store(store_url)
    [past] = store.history()
    assert (past.outcome, past.state, past.vars["name"]) == ("completed", "cancelled", "Ann")
    store.close()


def _signature(url: str, form: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(rest.AUTH_TOKEN).compute_signature(url, form))


@pytest.mark.parametrize(
    ("unset", "words"),
    [
        ("IVR_PUBLIC_URL", "IVR_PUBLIC_URL is not set"),
        ("TWILIO_AUTH_TOKEN", "no Twilio credentials"),
        ("TWILIO_ACCOUNT_SID", "TWILIO_ACCOUNT_SID is not set"),
    ],
)
def test_missing_settings_are_refused_before_anything_is_sent(
    flows: Path,
    standin: rest.Standin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    unset: str,
    words: str,
) -> None:
    monkeypatch.delenv(unset)
    assert call(flows, PERSON, "name=Ann") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and err.count("\n") == 1
    assert standin.requests == []


@pytest.mark.parametrize(
    ("to", "from_"),
    [("5551234567", OURS), (PERSON, "+1 555 765 4321"), ("+0123456", OURS), ("", OURS)],
)
def test_a_number_not_in_e164_form_is_refused_by_name(
    flows: Path, standin: rest.Standin, capsys: pytest.CaptureFixture[str], to: str, from_: str
) -> None:
    assert call(flows, to, from_=from_) == 2
    err = capsys.readouterr().err
    bad = to if from_ == OURS else from_
    assert f"number {bad!r} is not in E.164 form" in err and err.count("\n") == 1
    assert standin.requests == []


def test_an_unknown_flow_or_a_bad_variable_is_refused(
    flows: Path, standin: rest.Standin, capsys: pytest.CaptureFixture[str]
) -> None:
    code = outbound(
        "call",
        "nope",
        to=PERSON,
        from_=OURS,
        variables=[],
        csv_path=None,
        rate=1.0,
        results=None,
        flows_dir=str(flows),
        store=None,
    )
    assert code == 2
    assert "no flow named 'nope'" in capsys.readouterr().err
    assert call(flows, PERSON, "name") == 2
    assert "write it as NAME=VALUE" in capsys.readouterr().err
    assert call(flows, PERSON, "caller=+15550000000") == 2
    assert "set by the engine" in capsys.readouterr().err
    assert standin.requests == []


def test_the_memory_store_is_refused_as_the_server_could_not_see_the_call(
    flows: Path, standin: rest.Standin, capsys: pytest.CaptureFixture[str]
) -> None:
    code = outbound("call", "reminder", to=PERSON, from_=OURS, variables=[], csv_path=None,
                    rate=1.0, results=None, flows_dir=str(flows), store="memory://")  # fmt: skip
    assert code == 2
    assert "use the store `ivr serve` uses" in capsys.readouterr().err
    assert standin.requests == []
