"""Languages over HTTP against `ivr serve`: the TwiML's `language` and `voice`, the engine's own
words in Spanish, and a caller's language kept across calls, texts, workers and hosts.

Each test runs twice: on two servers sharing one SQLite file, and on two sharing one real Redis
server (two hosts). Twilio's requests alternate between the two.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from conftest import (
    Twilio,
    Twiml,
    call_form,
    copy_flows,
    http_client,
    launch,
    ready,
    sms_form,
    stop,
)
from redis_server import start_redis
from test_languages import contract_example

from ivr.store import open_store

SPANISH = """
language: es-MX
voice: Polly.Mia
states:
  menu:
    say: Para citas, oprima 1.
    choices:
      "1, citas": citas
  citas:
    say: Gracias.
"""

SPEECH = """
language: en-US
voice: Polly.Joanna
languages:
  es-US: {voice: Polly.Lupe}
states:
  welcome:
    say:
      en-US: Say English or Spanish.
      es-US: Diga inglés o español.
    choices:
      "english, inglés": ask
      "spanish, español": spanish
    gather: {listen: speech}
  spanish:
    set: {language: es-US}
    next: ask
  ask:
    say:
      en-US: What is your name?
      es-US: ¿Cómo se llama?
    gather: {listen: speech}
    save: name
"""


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def hosts(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str]]:
    """Two `ivr serve` on one store, with the contract's example as `contract_languages`."""
    folder = tmp_path_factory.mktemp(request.param)
    flows = copy_flows(folder)
    (flows / "contract_languages.yaml").write_text(contract_example(), encoding="utf-8")
    (flows / "solo_spanish.yaml").write_text(SPANISH, encoding="utf-8")
    (flows / "habla.yaml").write_text(SPEECH, encoding="utf-8")
    redis_proc = None
    if request.param == "redis":
        redis_proc, store = start_redis(folder)
    else:
        store = f"sqlite:///{folder}/ivr.sqlite3"
    # Both start at once; then each is waited for.
    launched = [launch(flows, store, folder / f"host{i}.log") for i in range(2)]
    servers = [ready(server) for server in launched]
    yield servers[0].url, servers[1].url, store
    for server in servers:
        stop(server)
    if redis_proc is not None:
        redis_proc.terminate()
        redis_proc.wait(10)


class Phone:
    """One number calling and texting, each of Twilio's requests to the next host in turn."""

    def __init__(self, client: httpx2.Client, hosts: tuple[str, str, str], number: str) -> None:
        self.store = open_store(hosts[2])
        self.twilios = [Twilio(client, url, self.store) for url in hosts[:2]]
        self.number, self.turn = number, 0

    def _next(self) -> Twilio:
        self.turn += 1
        return self.twilios[self.turn % 2]

    def call(self, flow: str) -> tuple[str, Twiml]:
        sid = "CA" + os.urandom(16).hex()
        return sid, self._next().post(f"/voice/{flow}", call_form(sid, From=self.number))

    def answer(self, sid: str, reply: Twiml, **form: str) -> Twiml:
        gather = reply.find("Gather")
        assert gather is not None, reply.text
        twilio = self._next()
        return twilio.post(gather.get("action") or "", call_form(sid, From=self.number, **form))

    def text(self, flow: str, body: str) -> list[str]:
        return self._next().post(f"/sms/{flow}", sms_form(body, self.number)).messages()


def spoken(reply: Twiml) -> list[tuple[str, str | None, str | None]]:
    """Each `<Say>`: its words, its `language` and its `voice` attributes."""
    return [
        (" ".join((s.text or "").split()), s.get("language"), s.get("voice")) for s in _says(reply)
    ]


def _says(reply: Twiml) -> list[ET.Element]:
    return list(reply.root.iter("Say"))


@pytest.fixture
def client() -> Iterator[httpx2.Client]:
    with http_client() as c:
        yield c


def test_the_contract_example_in_english_then_spanish_remembered(
    hosts: tuple[str, str, str], client: httpx2.Client
) -> None:
    phone = Phone(client, hosts, "+1555" + str(int.from_bytes(os.urandom(3)) % 10**7).zfill(7))
    sid, reply = phone.call("contract_languages")
    assert spoken(reply) == [
        (
            "Thanks for calling Riverside Clinic. For appointments, press 1.",
            "en-US",
            "Polly.Joanna",
        ),
        ("Para español, oprima 9.", "es-US", "Polly.Lupe"),
    ]
    gather = reply.find("Gather")
    assert gather is not None and gather.get("language") is None  # keys only
    wrong = phone.answer(sid, reply, Digits="5")
    assert spoken(wrong)[0] == ("Sorry, that isn't one of the options.", "en-US", "Polly.Joanna")
    spanish = phone.answer(sid, wrong, Digits="9")
    assert spoken(spanish) == [
        ("Por favor, marque su número de paciente de cuatro dígitos.", "es-US", "Polly.Lupe")
    ]
    wrong = phone.answer(sid, spanish, Digits="")  # silence: the engine's own words, in Spanish
    assert spoken(wrong)[0] == ("Disculpe, no le escuché.", "es-US", "Polly.Lupe")
    done = phone.answer(sid, wrong, Digits="1234")
    assert spoken(done) == [
        ("Gracias. Una enfermera le devolverá la llamada.", "es-US", "Polly.Lupe")
    ]
    assert done.verbs()[-1] == "Hangup"

    # The next call from this number, on whichever host, goes on in Spanish.
    sid, reply = phone.call("contract_languages")
    again = phone.answer(sid, reply, Digits="1")
    assert spoken(again)[0][1:] == ("es-US", "Polly.Lupe")
    # And so does a text from it: the choice holds on either channel.
    assert phone.text("contract_languages", "hola")
    assert phone.text("contract_languages", "1") == [
        "Por favor, marque su número de paciente de cuatro dígitos."
    ]
    assert phone.store.language_of("contract_languages", phone.number) == "es-US"
    phone.store.close()


def test_another_caller_is_not_given_someone_elses_language(
    hosts: tuple[str, str, str], client: httpx2.Client
) -> None:
    spanish = Phone(client, hosts, "+15550001111")
    sid, reply = spanish.call("contract_languages")
    spanish.answer(sid, reply, Digits="9")
    english = Phone(client, hosts, "+15550002222")
    assert english.text("contract_languages", "hello")
    assert english.text("contract_languages", "appointments") == [
        "Please enter your four digit patient number."
    ]
    spanish.store.close()
    english.store.close()


def test_a_spanish_flow_with_no_no_match_apologises_in_spanish(
    hosts: tuple[str, str, str], client: httpx2.Client
) -> None:
    phone = Phone(client, hosts, "+15550003333")
    sid, reply = phone.call("solo_spanish")
    assert spoken(reply) == [("Para citas, oprima 1.", "es-MX", "Polly.Mia")]
    sorry = phone.answer(sid, reply, Digits="7")
    assert spoken(sorry) == [
        ("Lo siento, esa no es una de las opciones.", "es-MX", "Polly.Mia"),
        ("Para citas, oprima 1.", "es-MX", "Polly.Mia"),
    ]
    assert phone.text("solo_spanish", "hola") == ["Para citas, oprima 1."]
    assert phone.text("solo_spanish", "adiós") == [
        "Lo siento, esa no es una de las opciones. Para citas, oprima 1."
    ]
    phone.store.close()


def test_speech_is_listened_for_in_the_chosen_language(
    hosts: tuple[str, str, str], client: httpx2.Client
) -> None:
    phone = Phone(client, hosts, "+15550004444")
    sid, reply = phone.call("habla")
    gather = reply.find("Gather")
    assert gather is not None and gather.get("language") == "en-US"
    reply = phone.answer(sid, reply, SpeechResult="Español.", Confidence="0.9")
    gather = reply.find("Gather")
    assert gather is not None and gather.get("language") == "es-US"
    assert gather.get("input") == "speech"
    assert spoken(reply) == [("¿Cómo se llama?", "es-US", "Polly.Lupe")]


def test_the_example_flow_in_the_flows_folder_is_the_contracts() -> None:
    example = Path(__file__).resolve().parent.parent / "flows" / "riverside_clinic.yaml"
    text = example.read_text(encoding="utf-8")
    # The same flow, with a `help` for texters and a comment on top.
    for line in contract_example().splitlines():
        assert line in text.splitlines(), line
