"""A call's preset: its variables are in the store before Twilio is asked to ring, on every store.

The REST stand-in looks in the store at the moment it is asked for the call; the app, on
memory, SQLite and a real Redis, then answers the call (or records it unanswered) from the
preset its URL names, once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import twilio_rest_standin as rest
from conftest import sign
from outbound_support import (
    OURS,
    PERSON,
    PUBLIC,
    answered,
    app_client,
    app_settings,
    call_path,
    gather_action,
    post_webhook,
    pressed,
    said,
    status_path,
    token_of,
    write_flows,
)
from starlette.testclient import TestClient

from ivr.engine.session import Session
from ivr.flow.loader import load_flows
from ivr.outbound.rest import Refused, make_client
from ivr.outbound.start import Sender
from ivr.store import Store, open_store
from ivr.store.queries import Filters

API_TOKEN = "api-token-0123456789"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
NOTICE = """\
states:
  hello:
    say: Hi {{ name }}, your parcel is at the front desk. Goodbye.
"""
PARCEL = """\
language: en-US
voice: Polly.Joanna
languages:
  es-US: {voice: Polly.Lupe}
remember_language: true
states:
  hello:
    say:
      en-US: Hello {{ name }}, your parcel is here. Para español, oprima 9.
      es-US: Hola {{ name }}, su paquete está aquí.
    choices:
      "9": spanish
  spanish:
    set: {language: es-US}
    next: hello
"""


def preset_of(name: str) -> Session:
    return Session(key="tok", flow="reminder", version="v1", channel="voice", caller=PERSON,
                   called=OURS, started=1.0, vars={"name": name})  # fmt: skip


# -- the store: a preset is no conversation, and lasts its time -----------------------------


def test_a_preset_is_kept_apart_from_the_conversations(store: Store) -> None:
    store.keep_preset("tok-1", preset_of("Ann"), 60)
    found = store.preset("tok-1")
    assert found is not None and found.to_json() == preset_of("Ann").to_json()
    assert store.preset("tok-2") is None
    # Nothing of it shows where conversations do: it is only a call asked for.
    assert store.load("tok-1") is None and store.conversation("tok-1") is None
    assert store.history() == [] and store.conversations(Filters()) == []

    async def twins() -> tuple[Session | None, Session | None]:
        before = await store.apreset("tok-1")
        await store.adrop_preset("tok-1")
        after = await store.apreset("tok-1")
        await store.aclose()  # what this loop opened
        return before, after

    before, after = asyncio.run(twins())
    assert before is not None and before.vars == {"name": "Ann"} and after is None


def test_a_preset_lasts_its_time_then_pruning_takes_it(store: Store) -> None:
    store.keep_preset("kept", preset_of("Ann"), 3600)
    store.keep_preset("lapsed", preset_of("Bob"), 0)
    store.drop_preset("never-kept")  # forgetting what isn't there is no error

    async def prune() -> int:
        gone = 0
        while found := await store.prune():
            gone += found
        await store.aclose()
        return gone

    assert _until_gone(store, "lapsed")
    # SQLite and memory forget it in pruning, a batch at a time; Redis by itself.
    assert asyncio.run(prune()) == (0 if type(store).__name__ == "RedisStore" else 1)
    kept = store.preset("kept")
    assert kept is not None and kept.vars == {"name": "Ann"}


def _until_gone(store: Store, token: str) -> bool:
    deadline = time.monotonic() + 10
    while store.preset(token) is not None:  # Redis expires it a millisecond on
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


# -- the call: the stand-in looks in the store when it is asked ----------------------------


def test_the_variables_are_in_the_store_when_twilio_is_asked_to_call(
    store: Store, standin: rest.Standin, tmp_path: Path
) -> None:
    flows = write_flows(tmp_path)
    settings = app_settings(flows, "memory://", standin)
    seen: list[Session | None] = []
    standin.on_call = lambda request: seen.append(store.preset(token_of(request)))
    flow = load_flows([str(flows)])[0]["reminder"]
    sender = Sender(settings, store, make_client(settings))
    sid = sender.call(flow, PERSON, OURS, {"name": "Ann", "day": "Monday"})
    [found] = seen
    assert found is not None
    assert (found.vars["name"], found.vars["day"], found.caller, found.called) == (
        "Ann", "Monday", PERSON, OURS,
    )  # fmt: skip
    assert store.load(sid) is None and store.history() == []


def test_a_call_whose_variables_cant_be_saved_is_not_placed(
    standin: rest.Standin, tmp_path: Path
) -> None:
    flows = write_flows(tmp_path)
    database = tmp_path / "gone.sqlite3"
    settings = app_settings(flows, f"sqlite:///{database}", standin)
    store = open_store(settings.store)
    store.open()
    os.remove(database)  # the store can't write any more
    flow = load_flows([str(flows)])[0]["reminder"]
    with pytest.raises(Refused) as refused:
        Sender(settings, store, make_client(settings)).call(flow, PERSON, OURS, {"name": "Ann"})
    store.close()
    assert (refused.value.code, refused.value.status) == ("store_error", 500)
    assert refused.value.message.startswith(f"the call to {PERSON} was not placed")
    assert standin.posts("Calls") == []


# -- the app, on each store: answered, asked again, unanswered, refused ---------------------


@pytest.fixture(params=["memory", "sqlite", "redis"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path, standin: rest.Standin
) -> Iterator[TestClient]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/ivr.sqlite3"
    else:
        import redis

        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
    flows = write_flows(tmp_path, notice=NOTICE, parcel=PARCEL)
    with app_client(app_settings(flows, url, standin, api_token=API_TOKEN)) as c:
        yield c


def served_store(client: TestClient) -> Store:
    return client.app.state.services.store  # type: ignore[attr-defined, no-any-return]


def place(client: TestClient, standin: rest.Standin, flow: str, **variables: str) -> str:
    body = {"to": PERSON, "from": OURS, "vars": variables}
    r = client.post(f"/api/flows/{flow}/calls", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    return str(r.json()["sid"])


def status(client: TestClient, request: rest.Received, sid: str, call_status: str) -> None:
    form = {**answered(sid), "CallStatus": call_status}
    signature = sign(PUBLIC + status_path(request), form, rest.AUTH_TOKEN)
    response = client.post(
        status_path(request), data=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 204, response.text


def test_an_answered_call_runs_with_its_variables_and_a_retry_is_answered_the_same(
    client: TestClient, standin: rest.Standin
) -> None:
    sid = place(client, standin, "reminder", name="Ann", day="Tuesday")
    [request] = standin.posts("Calls")
    first = post_webhook(client, "", call_path(request), answered(sid))
    assert "Hello Ann, this is Acme Plumbing about your visit on Tuesday." in said(first)
    again = post_webhook(client, "", call_path(request), answered(sid))  # Twilio asks again
    assert said(again) == said(first)
    done = post_webhook(client, "", gather_action(again).removeprefix(PUBLIC), pressed(sid, "1"))
    assert said(done) == "Thanks Ann, see you on Tuesday."
    status(client, request, sid, "completed")
    store = served_store(client)
    [past] = store.history()
    assert (past.key, past.state, past.outcome, past.vars["name"]) == (
        sid, "confirmed", "completed", "Ann",
    )  # fmt: skip
    assert store.preset(token_of(request)) is None  # used: nothing waits for its time-out


def test_a_call_ended_in_its_first_answer_is_answered_the_same_when_asked_again(
    client: TestClient, standin: rest.Standin
) -> None:
    sid = place(client, standin, "notice", name="Ann")
    [request] = standin.posts("Calls")
    first = post_webhook(client, "", call_path(request), answered(sid))
    assert said(first) == "Hi Ann, your parcel is at the front desk. Goodbye."
    assert post_webhook(client, "", call_path(request), answered(sid)) == first
    status(client, request, sid, "completed")
    [past] = served_store(client).history()
    assert (past.key, past.state, past.outcome, past.vars["name"]) == (
        sid, "hello", "completed", "Ann",
    )  # fmt: skip


@pytest.mark.parametrize("call_status", ["no-answer", "busy"])
def test_a_call_never_answered_is_in_the_history_once_with_its_variables(
    client: TestClient, standin: rest.Standin, call_status: str
) -> None:
    sid = place(client, standin, "reminder", name="Ann")
    [request] = standin.posts("Calls")
    status(client, request, sid, call_status)
    status(client, request, sid, call_status)  # and again, as a retry would
    [past] = served_store(client).history()
    assert (past.key, past.outcome, past.caller, past.called) == (sid, call_status, PERSON, OURS)
    assert past.vars["name"] == "Ann"


def test_a_call_twilio_refuses_leaves_no_trace(client: TestClient, standin: rest.Standin) -> None:
    body = {"to": "+15005550001", "from": OURS, "vars": {"name": "Ann"}}
    r = client.post("/api/flows/reminder/calls", json=body, headers=AUTH)
    assert (r.status_code, r.json()["code"]) == (400, "twilio_refused")
    assert r.json()["error"].startswith("Twilio refused the call to +15005550001: 21211")
    [request] = standin.posts("Calls")
    store = served_store(client)
    assert store.history() == [] and store.preset(token_of(request)) is None


def test_a_placed_call_starts_in_the_language_the_person_chose_last_time(
    client: TestClient, standin: rest.Standin
) -> None:
    sid = place(client, standin, "parcel", name="Ann")
    first = post_webhook(client, "", call_path(standin.posts("Calls")[0]), answered(sid))
    assert said(first).startswith("Hello Ann, your parcel is here.")
    spanish = post_webhook(client, "", gather_action(first).removeprefix(PUBLIC), pressed(sid, "9"))
    assert said(spanish) == "Hola Ann, su paquete está aquí."
    later = place(client, standin, "parcel", name="Ann")
    again = post_webhook(client, "", call_path(standin.posts("Calls")[1]), answered(later))
    assert said(again) == "Hola Ann, su paquete está aquí."


def test_a_call_whose_preset_ran_out_is_still_answered_with_the_flows_own_variables(
    tmp_path: Path, standin: rest.Standin, caplog: pytest.LogCaptureFixture
) -> None:
    flows = write_flows(tmp_path)
    settings = app_settings(flows, f"sqlite:///{tmp_path}/ivr.sqlite3", standin)
    store = open_store(settings.store)
    flow = load_flows([str(flows)])[0]["reminder"]
    # A preset that lasts no time: as if the call had waited in Twilio's queue for a day.
    quick = dataclasses.replace(settings, voice_session_ttl=0.0)
    sid = Sender(quick, store, make_client(quick)).call(flow, PERSON, OURS, {"name": "Ann"})
    [request] = standin.posts("Calls")
    with app_client(settings) as client:
        first = post_webhook(client, "", call_path(request), answered(sid))
    store.close()
    assert "Hello there, this is Acme Plumbing about your visit on your booked day." in said(first)
    assert f"call {sid} started without its variables" in caplog.text
