"""The HTTP API: `POST /api/flows/{flow}/calls` and `/texts`, behind a bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import twilio_rest_standin as rest
from conftest import free_port
from outbound_support import (
    OURS,
    PERSON,
    answered,
    app_client,
    app_settings,
    call_form_sent,
    call_path,
    messages,
    post_webhook,
    said,
    texted,
    token_of,
    write_flows,
)
from starlette.testclient import TestClient

from ivr.store import open_store

API_TOKEN = "api-token-0123456789"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
BODY = {"to": PERSON, "from": OURS, "vars": {"name": "Ann", "day": "Tuesday"}}


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    return write_flows(tmp_path)


@pytest.fixture
def client(flows: Path, store_url: str, standin: rest.Standin) -> Iterator[TestClient]:
    settings = app_settings(flows, store_url, standin, api_token=API_TOKEN)
    with app_client(settings) as c:
        yield c


def test_a_call_started_through_the_api_runs_with_its_variables(
    client: TestClient, standin: rest.Standin
) -> None:
    r = client.post("/api/flows/reminder/calls", json=BODY, headers=AUTH)
    assert r.status_code == 201, r.text
    sid = r.json()["sid"]
    assert sid.startswith("CA") and r.json() == {"sid": sid}
    [request] = standin.posts("Calls")
    assert request.form == call_form_sent(token_of(request))
    twiml = post_webhook(client, "", call_path(request), answered(sid))
    assert "Hello Ann, this is Acme Plumbing about your visit on Tuesday." in said(twiml)


def test_a_call_with_machine_detection_asks_twilio_for_it_and_the_flow_hears_answered_by(
    client: TestClient, standin: rest.Standin
) -> None:
    body = {**BODY, "detect_machine": True}
    r = client.post("/api/flows/reminder/calls", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    [request] = standin.posts("Calls")
    sent = call_form_sent(token_of(request))
    assert request.form == {**sent, "MachineDetection": ["DetectMessageEnd"]}
    form = {**answered(r.json()["sid"]), "AnsweredBy": "machine_end_beep"}
    post_webhook(client, "", call_path(request), form)
    session = client.app.state.services.store.load(r.json()["sid"])  # type: ignore[attr-defined]
    assert session.vars["answered_by"] == "machine_end_beep"
    assert session.vars["name"] == "Ann"


def test_detect_machine_must_be_a_boolean_and_is_for_calls_only(
    client: TestClient, standin: rest.Standin
) -> None:
    r = client.post(
        "/api/flows/reminder/calls", json={**BODY, "detect_machine": "yes"}, headers=AUTH
    )
    assert (r.status_code, r.json()["code"]) == (400, "bad_request")
    assert "`detect_machine` must be true or false" in r.json()["error"]
    r = client.post(
        "/api/flows/reminder/texts", json={**BODY, "detect_machine": True}, headers=AUTH
    )
    assert (r.status_code, r.json()["code"]) == (400, "bad_request")
    assert standin.posts("Calls") == [] and standin.posts("Messages") == []


def test_a_text_started_through_the_api_goes_on_through_the_sms_webhook(
    client: TestClient, standin: rest.Standin
) -> None:
    r = client.post("/api/flows/reminder/texts", json=BODY, headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json()["sid"].startswith("SM")
    [request] = standin.posts("Messages")
    assert request.field("Body").startswith("Hello Ann, this is Acme Plumbing")
    reply = post_webhook(client, "", "/sms/reminder", texted("2"))
    assert messages(reply) == ["No problem Ann, we will call you to find another day."]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_TOKEN}"},
     {"Authorization": f"Bearer {API_TOKEN}x"}],
)  # fmt: skip
def test_no_or_a_wrong_token_is_401(
    client: TestClient, standin: rest.Standin, headers: dict[str, str]
) -> None:
    r = client.post("/api/flows/reminder/calls", json=BODY, headers=headers)
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"
    assert standin.requests == []


def test_without_a_token_set_the_api_is_not_there(
    flows: Path, store_url: str, standin: rest.Standin
) -> None:
    with app_client(app_settings(flows, store_url, standin)) as c:
        r = c.post("/api/flows/reminder/calls", json=BODY, headers=AUTH)
    assert r.status_code == 404
    assert standin.requests == []


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/flows/nope/calls", BODY, 404, "unknown_flow"),
        ("/api/flows/reminder/calls", {**BODY, "to": "555-1234"}, 400, "invalid_number"),
        ("/api/flows/reminder/calls", {"to": PERSON}, 400, "bad_request"),
        ("/api/flows/reminder/texts", {**BODY, "vars": {"x": [1]}}, 400, "bad_request"),
        ("/api/flows/reminder/texts", [1, 2], 400, "bad_request"),
        ("/api/flows/reminder/texts", {**BODY, "vars": {"bad name": "1"}}, 400, "bad_variable"),
        ("/api/flows/reminder/calls", {**BODY, "to": "+15005550001"}, 400, "twilio_refused"),
        ("/api/flows/reminder/texts", {**BODY, "to": "+15005550004"}, 422, "opted_out"),
        ("/api/flows/reminder/calls", {**BODY, "to": rest.BROKEN}, 502, "twilio_error"),
    ],
)
def test_refusals_are_json_with_a_code(
    client: TestClient, path: str, body: object, status: int, code: str
) -> None:
    r = client.post(path, json=body, headers=AUTH)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and r.json()["error"]


def test_a_twilio_refusal_carries_twilios_code(client: TestClient) -> None:
    r = client.post("/api/flows/reminder/calls", json={**BODY, "to": "+15005550001"}, headers=AUTH)
    assert r.json() == {
        "error": "Twilio refused the call to +15005550001: 21211 — the 'To' number is not a "
        "valid phone number (https://www.twilio.com/docs/errors/21211)",
        "code": "twilio_refused",
        "twilio_code": 21211,
    }


def test_a_body_that_is_not_json_is_400(client: TestClient) -> None:
    r = client.post("/api/flows/reminder/texts", content=b"to=+1555", headers=AUTH)
    assert r.status_code == 400 and r.json()["code"] == "bad_request"


def test_an_opted_out_number_is_refused_without_asking_twilio(
    client: TestClient, standin: rest.Standin, store_url: str
) -> None:
    open_store(store_url).set_opt_out(PERSON, OURS, True)
    r = client.post("/api/flows/reminder/texts", json=BODY, headers=AUTH)
    assert r.status_code == 422 and r.json()["code"] == "opted_out"
    assert PERSON in r.json()["error"]
    assert standin.requests == []


def test_an_unreachable_twilio_is_502(flows: Path, store_url: str) -> None:
    settings = app_settings(flows, store_url, api_token=API_TOKEN,
                            api_base=f"http://127.0.0.1:{free_port()}")  # fmt: skip
    with app_client(settings) as c:
        r = c.post("/api/flows/reminder/calls", json=BODY, headers=AUTH)
    assert r.status_code == 502 and r.json()["code"] == "twilio_unreachable"


def test_missing_credentials_are_502(flows: Path, store_url: str, standin: rest.Standin) -> None:
    settings = app_settings(flows, store_url, standin, api_token=API_TOKEN, account_sid="")
    with app_client(settings) as c:
        r = c.post("/api/flows/reminder/texts", json=BODY, headers=AUTH)
    assert r.status_code == 502 and r.json()["code"] == "no_credentials"
    assert standin.requests == []
