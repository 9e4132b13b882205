"""The server's own words when a webhook fails, in the flow's language; HELP in the texter's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TOKEN, Twilio, call_form, sms_form
from starlette.testclient import TestClient
from test_languages import contract_example

from ivr.engine.phrases import PHRASES
from ivr.settings import Settings
from ivr.web.app import create_app

SPANISH = """
language: es-MX
voice: Polly.Mia
help: Clínica. Envíe HOLA para empezar.
states:
  menu:
    say: Para citas, oprima 1.
    choices:
      "1, citas": citas
  citas:
    say: Gracias.
"""


@pytest.fixture
def twilio(tmp_path: Path) -> Iterator[Twilio]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "solo_spanish.yaml").write_text(SPANISH, encoding="utf-8")
    helped = contract_example() + "help:\n  en-US: Text 1.\n  es-US: Envíe 1.\n"
    (flows / "clinic.yaml").write_text(helped, encoding="utf-8")
    settings = Settings(
        flows_dir=str(flows), store=f"sqlite:///{tmp_path}/ivr.sqlite3", auth_token=TOKEN
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        yield Twilio(client, "http://testserver", app.state.services.store)


def down(*args: object, **kwargs: object) -> object:
    raise OSError("the store went away")


def test_a_failed_call_is_apologised_for_in_the_flows_language(
    twilio: Twilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = "CA" + os.urandom(16).hex()
    reply = twilio.post("/voice/solo_spanish", call_form(sid))
    for name in ("update", "update_now"):
        monkeypatch.setattr(twilio.store, name, down)
    failed = twilio.follow(reply, "Gather", call_form(sid, Digits="1"))
    say = failed.find("Say")
    assert say is not None and failed.verbs()[-1] == "Hangup"
    assert (say.text, say.get("language"), say.get("voice")) == (
        PHRASES["es"]["call_failed"],
        "es-MX",
        "Polly.Mia",
    )


def test_a_failed_text_is_apologised_for_in_the_flows_language(
    twilio: Twilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("update", "update_now"):
        monkeypatch.setattr(twilio.store, name, down)
    reply = twilio.post("/sms/solo_spanish", sms_form("hola"))
    assert reply.messages() == [PHRASES["es"]["text_failed"]]


def test_help_comes_in_the_texters_language(twilio: Twilio) -> None:
    assert twilio.post("/sms/solo_spanish", sms_form("HELP")).messages() == [
        "Clínica. Envíe HOLA para empezar."
    ]
    frm = "+15557770000"
    assert twilio.post("/sms/clinic", sms_form("HELP", frm)).messages() == ["Text 1."]
    twilio.post("/sms/clinic", sms_form("hi", frm))
    twilio.post("/sms/clinic", sms_form("9", frm))
    assert twilio.post("/sms/clinic", sms_form("HELP", frm)).messages() == ["Envíe 1."]
    twilio.post("/sms/clinic", sms_form("1234", frm))  # the conversation ends
    assert twilio.store.language_of("clinic", frm) == "es-US"
    # No conversation under way: the language this texter chose last time.
    assert twilio.post("/sms/clinic", sms_form("INFO", frm)).messages() == ["Envíe 1."]


def test_only_a_text_that_starts_a_conversation_looks_up_the_language_chosen_last_time(
    twilio: Twilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    frm = "+15557770001"
    twilio.post("/sms/clinic", sms_form("hi", frm))
    twilio.post("/sms/clinic", sms_form("9", frm))
    twilio.post("/sms/clinic", sms_form("1234", frm))  # Spanish chosen; the conversation ends
    asked: list[str] = []
    look_up = twilio.store.language_of

    def counted(flow: str, number: str) -> str:
        asked.append(number)
        return look_up(flow, number)

    monkeypatch.setattr(twilio.store, "language_of", counted)
    twilio.post("/sms/clinic", sms_form("hola", frm))  # a new conversation: in Spanish
    answered = twilio.post("/sms/clinic", sms_form("1", frm))
    assert answered.messages() == ["Por favor, marque su número de paciente de cuatro dígitos."]
    assert asked == [frm]  # by the text that started it, not by the answer
