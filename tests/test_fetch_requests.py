"""A `fetch` on its own: the request it builds, and sending it to a real HTTP service on
127.0.0.1 that answers well, slowly, hugely, wrongly, or not at all."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator

import fetch_service
import pytest
from conftest import free_port

from ivr.engine.fetching import (
    MAX_VALUE,
    FetchReply,
    extract,
    kept,
    prepare,
    read_reply,
    secrets_from_env,
)
from ivr.flow.fetch import Fetch, is_dotted, url_problem
from ivr.outbound.fetch import send

SECRET = "s3cr3t-token-do-not-log"


@pytest.fixture(scope="module")
def service() -> Iterator[fetch_service.Service]:
    running = fetch_service.start()
    yield running
    running.close()


def fetch_of(url: str, **parts: object) -> Fetch:
    return Fetch(url=url, **parts)  # type: ignore[arg-type]


def go(
    fetch: Fetch, variables: dict[str, str] | None = None, wants_json: bool = True
) -> FetchReply:
    prepared = prepare(fetch, variables or {}, {"CLINIC_API": SECRET})
    return asyncio.run(send(prepared, fetch.timeout, wants_json))


# -- building the request -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "encoded"),
    [
        ("1234", "1234"),
        ("1&admin=1", "1%26admin%3D1"),
        ("../x", "%2E%2E%2Fx"),
        ("a b#c?d", "a%20b%23c%3Fd"),
    ],
)
def test_values_in_a_url_stay_values(answer: str, encoded: str) -> None:
    fetch = fetch_of("https://clinic.example.com/p/{{ id }}?patient={{ id }}&x=1")
    prepared = prepare(fetch, {"id": answer}, {})
    assert prepared.url == f"https://clinic.example.com/p/{encoded}?patient={encoded}&x=1"


def test_a_secret_is_filled_in_but_never_shown() -> None:
    fetch = fetch_of(
        "https://clinic.example.com/{{ secret.CLINIC_API }}/a?key={{ secret.CLINIC_API }}",
        headers=(("Authorization", "Bearer {{ secret.CLINIC_API }}"),),
    )
    prepared = prepare(fetch, {}, {"CLINIC_API": SECRET, "OTHER": "unused"})
    assert SECRET in prepared.url
    assert prepared.headers == (("Authorization", f"Bearer {SECRET}"),)
    assert prepared.shown == "https://clinic.example.com/***/a"
    assert SECRET not in repr(prepared.shown)
    assert prepared.missing == ()


def test_a_secret_the_server_lacks_is_named() -> None:
    fetch = fetch_of("https://a.example.com/", headers=(("X-Key", "{{ secret.NOPE }}"),))
    assert prepare(fetch, {}, {}).missing == ("NOPE",)
    reply = asyncio.run(send(prepare(fetch, {}, {}), 1, True))
    assert reply.status == "error" and "IVR_SECRET_NOPE" in reply.reason


def test_a_secret_is_nothing_outside_a_fetch_request() -> None:
    from ivr.flow.templates import render

    assert render("key {{ secret.CLINIC_API }}", {"caller": "+1"}) == "key "


def test_secrets_come_from_the_environment() -> None:
    env = {"IVR_SECRET_CLINIC_API": "abc", "IVR_SECRET_EMPTY": "", "HOME": "/"}
    assert secrets_from_env(env) == {"CLINIC_API": "abc"}


def test_body_values_are_strings_and_sent_with_post_only() -> None:
    body = (("patient", "{{ patient }}"), ("n", "3"))
    post = fetch_of("https://a.example.com/", method="POST", body=body)
    assert prepare(post, {"patient": '1", "admin": true'}, {}).json == {
        "patient": '1", "admin": true',
        "n": "3",
    }
    assert prepare(fetch_of("https://a.example.com/", body=body), {}, {}).json is None


def test_a_header_value_cannot_start_another_header() -> None:
    fetch = fetch_of("https://a.example.com/", headers=(("X-Patient", "{{ p }}"),))
    assert prepare(fetch, {"p": "1\r\nX-Admin: 1"}, {}).headers == (("X-Patient", "1X-Admin: 1"),)


# -- reading the reply ----------------------------------------------------------------------
def test_paths_reach_into_objects_and_lists() -> None:
    data = fetch_service.APPOINTMENTS["1234"]
    assert extract(data, "next.doctor.name") == "Doctor Rivera"
    assert extract(data, "items.1.name") == "blood test"
    assert extract(data, "count") == "2"
    assert extract(data, "confirmed") == "true"
    assert extract(data, "items.5.name") == ""
    assert extract(data, "next.nothing") == ""
    assert extract(data, "next") == ""  # an object has nothing to say
    assert extract({"n": None, "f": 2.5}, "n") == ""
    assert extract({"n": None, "f": 2.5}, "f") == "2.5"
    assert len(extract({"long": "x" * 10_000}, "long")) == MAX_VALUE


def test_a_failed_reply_leaves_the_variables_empty() -> None:
    fetch = fetch_of("https://a.example.com/", save=(("when", "next.time"),))
    reply = read_reply(500, b'{"next": {"time": "noon"}}', wants_json=True)
    assert reply.failed and kept(fetch, reply) == {"fetch_status": "500", "when": ""}
    reply = read_reply(200, b'{"next": {"time": "noon"}}', wants_json=True)
    assert kept(fetch, reply) == {"fetch_status": "200", "when": "noon"}


def test_paths_and_urls_are_checked() -> None:
    assert is_dotted("items.0.name") and is_dotted("next")
    assert not is_dotted("$.next") and not is_dotted("next[0]") and not is_dotted("a..b")
    assert url_problem("https://clinic.example.com/a?p={{ patient }}") is None
    assert "https://" in (url_problem("ftp://clinic.example.com/") or "")
    assert "host" in (url_problem("https://{{ host }}/a") or "")
    assert url_problem("https://clinic.example.com:99999/") is not None
    assert url_problem("https:///nohost") is not None


# -- sending it to a real service -----------------------------------------------------------
def test_a_good_reply(service: fetch_service.Service) -> None:
    fetch = fetch_of(
        service.url + "/appointments?patient={{ patient }}",
        headers=(("Authorization", "Bearer {{ secret.CLINIC_API }}"),),
    )
    reply = go(fetch, {"patient": "1234"})
    assert (reply.status, reply.failed) == ("200", False)
    assert extract(reply.data, "next.time") == "Tuesday at 3 PM"
    assert service.received[-1].headers["authorization"] == f"Bearer {SECRET}"


def test_a_post_sends_json_strings(service: fetch_service.Service) -> None:
    fetch = fetch_of(
        service.url + "/appointments",
        method="POST",
        body=(("patient", "{{ patient }}"), ("phone", "{{ caller }}")),
    )
    reply = go(fetch, {"patient": "1234", "caller": "+15551230000"})
    assert reply.status == "200"
    sent = service.received[-1]
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.body) == {"patient": "1234", "phone": "+15551230000"}


def test_an_answer_cannot_reach_outside_its_place(service: fetch_service.Service) -> None:
    fetch = fetch_of(service.url + "/echo/{{ id }}?patient={{ id }}")
    assert go(fetch, {"id": "../../appointments?admin=1&x"}).status == "200"
    sent = service.received[-1]
    assert sent.raw_path == "/echo/%2E%2E%2F%2E%2E%2Fappointments%3Fadmin%3D1%26x"
    assert sent.query == "patient=%2E%2E%2F%2E%2E%2Fappointments%3Fadmin%3D1%26x"


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/broken", "500", "HTTP 500"),
        ("/appointments?patient=9", "404", "HTTP 404"),
        ("/text", "200", "not JSON"),
        ("/huge", "200", "over 1 MB"),
        ("/loop", "302", "redirects are not followed"),
    ],
)
def test_replies_that_fail(
    service: fetch_service.Service, path: str, status: str, reason: str
) -> None:
    before = len(service.received)
    reply = go(fetch_of(service.url + path))
    assert reply.failed and reply.status == status and reason in reply.reason
    assert len(service.received) == before + 1  # a redirect is not followed


def test_a_reply_not_json_is_fine_when_nothing_is_saved(service: fetch_service.Service) -> None:
    reply = go(fetch_of(service.url + "/text"), wants_json=False)
    assert (reply.status, reply.failed) == ("200", False)


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_slow_service_times_out_on_time(service: fetch_service.Service, path: str) -> None:
    began = time.monotonic()
    reply = go(fetch_of(service.url + path, timeout=0.5))
    # The bound is the timeout's, with room for a busy machine: the 30 s reply is not awaited.
    assert time.monotonic() - began < 5
    assert reply.status == "timeout" and reply.failed


def test_nothing_listening_is_an_error() -> None:
    reply = go(fetch_of(f"http://127.0.0.1:{free_port()}/a"))
    assert reply.status == "error" and "could not connect" in reply.reason


def test_only_http_and_https_are_fetched() -> None:
    reply = go(fetch_of("file:///etc/passwd"))
    assert reply.status == "error" and "http" in reply.reason


def test_sending_logs_no_secret(
    service: fetch_service.Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = service.url + "/echo/{{ secret.CLINIC_API }}?key={{ secret.CLINIC_API }}"
    go(fetch_of(url, headers=(("Authorization", "{{ secret.CLINIC_API }}"),)))
    go(fetch_of(service.url + "/loop?key={{ secret.CLINIC_API }}"))
    assert service.received[-2].query == f"key={SECRET}"
    assert SECRET not in caplog.text
