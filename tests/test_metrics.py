"""`/metrics` for Prometheus: never public by default, and counting what an operator needs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TOKEN, Twilio, call_form, free_port, http_client, sms_form, start_server, stop
from starlette.testclient import TestClient

from ivr.engine.session import Session
from ivr.settings import Settings
from ivr.store.base import Effects, Outgoing
from ivr.web.app import create_app

METRICS_TOKEN = "metrics-token-0123456789"


@pytest.fixture
def metered(flows_dir: Path, tmp_path: Path) -> Iterator[Twilio]:
    settings = Settings(
        flows_dir=str(flows_dir),
        store=f"sqlite:///{tmp_path}/ivr.sqlite3",
        auth_token=TOKEN,
        metrics_token=METRICS_TOKEN,
    )
    app = create_app(settings, deliver=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield Twilio(client, "http://testserver", app.state.services.store)


def value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus's text format (0 when it isn't there)."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(twilio: Twilio) -> str:
    r = twilio.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return r.text


def test_metrics_are_not_public(app_twilio: Twilio, metered: Twilio) -> None:
    assert app_twilio.client.get("/metrics").status_code == 404  # no token set: no metrics
    assert metered.client.get("/metrics").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert metered.client.get("/metrics", headers=wrong).status_code == 401


def test_webhooks_are_counted_by_flow_channel_and_status(metered: Twilio) -> None:
    metered.post("/sms/texting", sms_form("hi"))
    metered.post("/sms/texting", sms_form("hours"))
    metered.post("/sms/texting", sms_form("hi"), signature="forged")
    metered.post("/voice/menu", call_form("CA" + "1" * 32))
    metered.post("/voice/made-up-" + "x" * 20, call_form("CA" + "2" * 32))
    text = scrape(metered)
    assert value(text, "ivr_webhooks_total", flow="texting", channel="sms", status="200") == 2
    assert value(text, "ivr_webhooks_total", flow="texting", channel="sms", status="403") == 1
    assert value(text, "ivr_webhooks_total", flow="menu", channel="voice", status="200") == 1
    assert value(text, "ivr_webhooks_total", flow="unknown", channel="voice", status="404") == 1
    assert "made-up" not in text
    assert value(text, "ivr_webhook_seconds_count", channel="sms") == 3
    assert value(text, "ivr_webhook_seconds_bucket", channel="voice", le="+Inf") == 2


def test_live_conversations_and_notes_waiting_are_read_from_the_store(metered: Twilio) -> None:
    metered.post("/sms/texting", sms_form("hi", "+15550007777"))
    metered.post("/voice/menu", call_form("CA" + "3" * 32))
    ended = "CA" + "4" * 32
    metered.post("/voice/menu", call_form(ended))
    metered.post("/voice/menu/status", call_form(ended, CallStatus="completed"))
    # The outbox as the flows fill it (delivery is off here, so they wait).
    note = Outgoing(channel="email", to="desk@example.com", body="Voicemail", kind="note")
    text = Outgoing(channel="sms", to="+15550001", body="hello")

    def change(before: Session | None) -> tuple[Session | None, None]:
        return before, None

    effects = Effects(outbox=[note, note, text])
    metered.store.update("CA" + "3" * 32, change, 60, lambda _: effects)
    scraped = scrape(metered)
    assert value(scraped, "ivr_conversations_live", channel="sms") == 1
    assert value(scraped, "ivr_conversations_live", channel="voice") == 1
    assert value(scraped, "ivr_outbox_waiting", kind="note") == 2
    assert value(scraped, "ivr_outbox_waiting", kind="text") == 1


def test_store_errors_are_counted(metered: Twilio, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object, **kwargs: object) -> object:
        raise OSError("the store went away")

    for name in ("update", "update_now", "load", "opted_out"):
        monkeypatch.setattr(metered.store, name, down)
    metered.post("/sms/texting", sms_form("hi"))
    metered.client.get("/health")
    monkeypatch.undo()
    text = scrape(metered)
    assert value(text, "ivr_store_errors_total") == 2


def test_two_workers_are_added_up_on_the_metrics_port(flows_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    server = start_server(
        flows_dir,
        f"sqlite:///{tmp_path}/ivr.sqlite3",
        tmp_path / "server.log",
        "--workers",
        "2",
        "--metrics-port",
        str(port),
    )
    try:
        with http_client() as client:
            twilio = Twilio(client, server.url, None)  # type: ignore[arg-type]
            for n in range(40):  # fresh connections: each worker takes some of them
                twilio.client = http_client()
                twilio.post("/voice/menu", call_form(f"CA{n:032x}"))
                twilio.client.close()
            assert (
                client.get(server.url + "/metrics").status_code == 404
            )  # not on the server's port
            text = client.get(f"http://127.0.0.1:{port}/metrics").text
        assert value(text, "ivr_webhooks_total", flow="menu", channel="voice", status="200") == 40
        assert value(text, "ivr_conversations_live", channel="voice") == 40
    finally:
        stop(server)
