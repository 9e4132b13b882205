"""`fetch` states against a real HTTP service on 127.0.0.1: the shipped clinic flow, spoken on
a call and texted on SMS, and every way the other system can let it down. In-process through the
real app, and over HTTP against `ivr serve`."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import fetch_service
import pytest
from conftest import (
    ROOT,
    TOKEN,
    Server,
    Twilio,
    Twiml,
    call_form,
    forget_conversations,
    http_client,
    sms_form,
    start_server,
)
from starlette.testclient import TestClient

from ivr.settings import Settings
from ivr.store import open_store
from ivr.tools.phone import Call, http_transport
from ivr.web.app import create_app

SECRET = "clinic-api-key-9f8e7d6c5b4a"
EXAMPLE_URL = "https://clinic.example.com/api"
HEARD = "Your next appointment is Tuesday at 3 PM with Doctor Rivera. See you then. Goodbye."


@pytest.fixture(scope="module")
def service() -> Iterator[fetch_service.Service]:
    running = fetch_service.start()
    yield running
    running.close()


def clinic_flow(service: fetch_service.Service, url: str = "", timeout: int = 5) -> str:
    """The shipped example, asking the test service instead of the clinic's."""
    text = (ROOT / "flows" / "clinic_lookup.yaml").read_text(encoding="utf-8")
    text = text.replace(f"{EXAMPLE_URL}/appointments?patient={{{{ patient }}}}", url or "URL")
    text = text.replace("URL", service.url + "/appointments?patient={{ patient }}")
    return text.replace("timeout: 5 ", f"timeout: {timeout} ")


@pytest.fixture
def flows(tmp_path: Path, service: fetch_service.Service) -> Path:
    return write_lookups(tmp_path, service)


def write_lookups(root: Path, service: fetch_service.Service) -> Path:
    """The lookup flows, each asking the test service in its own way, in `root`/flows."""
    folder = root / "flows"
    folder.mkdir()
    (folder / "clinic_lookup.yaml").write_text(clinic_flow(service))
    (folder / "slow_lookup.yaml").write_text(clinic_flow(service, service.url + "/slow", 1))
    (folder / "broken_lookup.yaml").write_text(clinic_flow(service, service.url + "/broken"))
    (folder / "text_lookup.yaml").write_text(clinic_flow(service, service.url + "/text"))
    (folder / "huge_lookup.yaml").write_text(clinic_flow(service, service.url + "/huge"))
    (folder / "loop_lookup.yaml").write_text(clinic_flow(service, service.url + "/loop"))
    (folder / "drip_lookup.yaml").write_text(clinic_flow(service, service.url + "/drip", 1))
    (folder / "hold_lookup.yaml").write_text(clinic_flow(service, service.url + "/hold", 10))
    (folder / "echo_lookup.yaml").write_text(
        "states:\n"
        "  ask:\n"
        "    say: Your number?\n"
        "    save: patient\n"
        "    next: find\n"
        "  find:\n"
        "    fetch:\n"
        f'      url: "{service.url}/echo/{{{{ patient }}}}?patient={{{{ patient }}}}&v=1"\n'
        "      save: {path: path}\n"
        "    say: Looked up.\n"
        "    next: done\n"
        "  done:\n"
        "    say: Sent {{ path }}.\n"
    )
    return folder


@pytest.fixture
def app(flows: Path, tmp_path: Path) -> Iterator[Twilio]:
    settings = Settings(
        flows_dir=str(flows),
        store=f"sqlite:///{tmp_path}/ivr.sqlite3",
        auth_token=TOKEN,
        secrets={"CLINIC_API": SECRET},
    )
    application = create_app(settings)
    with TestClient(application, base_url="http://testserver") as client:
        yield Twilio(client, "http://testserver", application.state.services.store)


def call(twilio: Twilio, flow: str, keys: str, sid: str = "CA1") -> tuple[Twiml, Twiml]:
    """Call `flow`, press `keys`: the reply that says "one moment", and the one after the fetch."""
    twilio.post(f"/voice/{flow}", call_form(sid))
    first = twilio.post(f"/voice/{flow}/gather?seq=1", call_form(sid, Digits=keys))
    return first, twilio.follow(first, "Redirect", call_form(sid))


def test_a_call_hears_one_moment_then_the_appointment(
    app: Twilio, service: fetch_service.Service
) -> None:
    first, second = call(app, "clinic_lookup", "1234")
    # The prompt is answered at once, before the request: then Twilio comes back for the rest.
    assert first.verbs() == ["Say", "Redirect"]
    assert first.said() == "One moment while I look up your appointment."
    redirect = first.find("Redirect")
    assert redirect is not None and redirect.text == "/voice/clinic_lookup/fetch?seq=2"
    assert second.said() == HEARD
    assert second.verbs() == ["Say", "Hangup"]
    sent = service.received[-1]
    assert sent.query == "patient=1234"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"


def test_a_text_gets_the_appointment_in_the_same_reply(app: Twilio) -> None:
    app.post("/sms/clinic_lookup", sms_form("hi"))
    reply = app.post("/sms/clinic_lookup", sms_form("1234"))
    assert reply.messages() == ["One moment while I look up your appointment.", HEARD]


def test_a_retried_text_gets_the_whole_reply_again_and_asks_once(
    app: Twilio, service: fetch_service.Service
) -> None:
    # Twilio retries a text whose answer was late: a `fetch` is what makes it late.
    app.post("/sms/clinic_lookup", sms_form("hi", "+15550009999"))
    text = sms_form("1234", "+15550009999")
    asked = len(service.received)
    first = app.post("/sms/clinic_lookup", text)
    again = app.post("/sms/clinic_lookup", text)
    assert (
        first.messages()
        == again.messages()
        == [
            "One moment while I look up your appointment.",
            HEARD,
        ]
    )
    assert len(service.received) == asked + 1
    assert len(app.store.history(flow="clinic_lookup", last=10)) == 1


def test_a_slow_service_times_out_into_if_failed_in_time(app: Twilio) -> None:
    for flow in ("slow_lookup", "drip_lookup"):
        sid = f"CA-{flow}"
        app.post(f"/voice/{flow}", call_form(sid))
        first = app.post(f"/voice/{flow}/gather?seq=1", call_form(sid, Digits="1234"))
        began = time.monotonic()
        second = app.follow(first, "Redirect", call_form(sid))
        # A 1 s timeout against a reply that takes 30 s: Twilio (15 s) is answered in time.
        assert time.monotonic() - began < 10
        assert "can't look up appointments right now" in second.said()
        session = app.store.history(flow=flow, last=1)[0]
        assert session.vars["fetch_status"] == "timeout"


@pytest.mark.parametrize(
    ("flow", "status"),
    [
        ("broken_lookup", "500"),
        ("text_lookup", "200"),
        ("huge_lookup", "200"),
        ("loop_lookup", "302"),
    ],
)
def test_replies_that_fail_go_to_if_failed(
    app: Twilio, service: fetch_service.Service, flow: str, status: str
) -> None:
    before = len(service.received)
    _, second = call(app, flow, "1234", sid=f"CA-{flow}")
    assert "can't look up appointments right now" in second.said()
    assert app.store.history(flow=flow, last=1)[0].vars["fetch_status"] == status
    assert len(service.received) == before + 1  # the redirect loop was not followed


def test_an_answer_cannot_inject_into_the_url(app: Twilio, service: fetch_service.Service) -> None:
    app.post("/sms/echo_lookup", sms_form("hi", frm="+15550001111"))
    reply = app.post("/sms/echo_lookup", sms_form("../../x?admin=1&v=2#", frm="+15550001111"))
    encoded = "%2E%2E%2F%2E%2E%2Fx%3Fadmin%3D1%26v%3D2%23"
    sent = service.received[-1]
    assert sent.raw_path == f"/echo/{encoded}"
    assert sent.query == f"patient={encoded}&v=1"
    assert reply.messages() == ["Looked up.", f"Sent /echo/{encoded}."]


def test_the_secret_is_kept_nowhere(
    app: Twilio, service: fetch_service.Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    call(app, "clinic_lookup", "1234", sid="CA-ok")
    call(app, "loop_lookup", "1234", sid="CA-loop")  # a failure, logged with its URL
    app.post("/sms/clinic_lookup", sms_form("hi"))
    app.post("/sms/clinic_lookup", sms_form("1234"))
    line = (
        "fetch failed: HTTP 302: redirects are not followed (flow loop_lookup, state "
        f"find_appointment, conversation CA-loop, url {service.url}/loop)"
    )
    assert line in caplog.messages
    kept = [s.to_json() for s in app.store.history(last=100)]
    assert len(kept) >= 2 and all(SECRET not in s for s in kept)
    assert SECRET not in caplog.text
    for file in tmp_path.glob("ivr.sqlite3*"):
        assert SECRET.encode() not in file.read_bytes()


def test_a_missing_secret_fails_the_request_and_says_which(
    flows: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(flows_dir=str(flows), store="memory://", auth_token=TOKEN)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        twilio = Twilio(client, "http://testserver", open_store("memory://"))
        _, second = call(twilio, "clinic_lookup", "1234")
    assert "can't look up appointments right now" in second.said()
    assert "IVR_SECRET_CLINIC_API" in caplog.text


# -- over HTTP, against `ivr serve` ---------------------------------------------------------
@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, service: fetch_service.Service
) -> Iterator[Server]:
    """One `ivr serve` with the clinic's secret, for the tests that need nothing more."""
    folder = tmp_path_factory.mktemp("served")
    store, log = f"sqlite:///{folder}/served.sqlite3", folder / "server.log"
    flows = write_lookups(folder, service)
    with start_server(flows, store, log, env={"IVR_SECRET_CLINIC_API": SECRET}) as server:
        yield server


@pytest.fixture
def served(server: Server) -> tuple[str, Path]:
    """The module's server, its store emptied of the calls of the tests before."""
    forget_conversations(server.store)
    return server.url, server.log


def test_ivr_serve_looks_up_the_appointment(served: tuple[str, Path]) -> None:
    url, log = served
    transport = http_transport(url)
    try:
        phone = Call(transport, "clinic_lookup", token=TOKEN)
        phone.start()
        heard = phone.press("1234")
        assert heard == ["One moment while I look up your appointment.", HEARD]
        assert phone.ended
        bad = Call(transport, "broken_lookup", token=TOKEN)
        bad.start()
        assert bad.press("1234")[-2] == "Sorry, I can't look up appointments right now."
    finally:
        transport.close()
    assert "fetch failed: HTTP 500 (flow broken_lookup, state find_appointment" in log.read_text()
    assert SECRET not in log.read_text()
    for file in log.parent.glob("served.sqlite3*"):
        assert SECRET.encode() not in file.read_bytes()


def test_a_request_under_way_never_holds_up_other_calls(
    served: tuple[str, Path], service: fetch_service.Service
) -> None:
    url, _ = served
    service.release.clear()
    transport = http_transport(url, timeout=30)
    held = Call(transport, "hold_lookup", token=TOKEN)
    held.start()
    heard: list[str] = []
    waiting = threading.Thread(target=lambda: heard.extend(held.press("1234")))
    waiting.start()
    try:
        deadline = time.monotonic() + 20
        while not any(r.raw_path == "/hold" for r in service.received):
            assert time.monotonic() < deadline, "the held request never reached the service"
            time.sleep(0.02)
        # The request is under way and will stay so until released: other calls still get
        # their answers, as the request waits on the event loop without blocking it.
        for n in range(3):
            with http_client() as client:
                other = Twilio(client, url, open_store("memory://"))
                reply = other.post("/voice/clinic_lookup", call_form(f"CA-other-{n}"))
            assert "four digit patient number" in reply.said()
        assert waiting.is_alive() and not heard
    finally:
        service.release.set()
        waiting.join(30)
        transport.close()
    assert heard == ["One moment while I look up your appointment.", HEARD]


def test_serve_warns_of_a_secret_it_has_no_value_for(flows: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = start_server(flows, "memory://", log)
    try:
        assert "state find_appointment: `{{ secret.CLINIC_API }}` has no value: set " in (
            log.read_text()
        )
    finally:
        server.proc.terminate()
        server.proc.wait(10)


def test_trying_a_flow_in_the_console_asks_with_the_server_s_secrets(
    flows: Path, tmp_path: Path, service: fetch_service.Service
) -> None:
    from test_console import PASSWORD, log_in, page_token

    from ivr.console.app import mount_console

    settings = Settings(
        flows_dir=str(flows),
        store=f"sqlite:///{tmp_path}/console.sqlite3",
        auth_token=TOKEN,
        console_password=PASSWORD,
        secrets={"CLINIC_API": SECRET},
    )
    with TestClient(mount_console(create_app(settings), settings)) as console:
        log_in(console)
        token = page_token(console, "/console/try/clinic_lookup")
        started = console.post(
            "/console/try/clinic_lookup/start", data={"csrf": token, "channel": "sms"}
        )
        line = re.search(r'name="line" value="([^"]+)"', started.text)
        assert line, started.text
        form = {"csrf": token, "line": line.group(1), "move": "text"}
        console.post("/console/try/clinic_lookup/move", data={**form, "value": "hi"})
        shown = console.post("/console/try/clinic_lookup/move", data={**form, "value": "1234"})
    assert "Tuesday at 3 PM with Doctor Rivera" in shown.text
    assert service.received[-1].headers["authorization"] == f"Bearer {SECRET}"
