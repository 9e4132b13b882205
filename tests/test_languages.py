"""Languages in the engine: each text in the conversation's language, with its voice; the
engine's own words in the languages it knows; `set: {language: ...}` and remembering it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from ivr.engine import actions as act
from ivr.engine import machine as engine
from ivr.engine.events import Event, KeepLanguage, Output
from ivr.engine.phrases import PHRASES
from ivr.engine.session import Session, new_call, new_conversation
from ivr.flow.loader import load_flow_text
from ivr.flow.model import Flow

NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "flow-format.md"


def contract_example() -> str:
    """The flow of the contract's "Languages" section, as published."""
    section = CONTRACT.read_text(encoding="utf-8").split("## Languages", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert found
    return found.group(1)


def flow_of(text: str) -> Flow:
    flow, problems = load_flow_text(text, name="f")
    assert flow is not None, problems
    assert problems == []
    return flow


def says(outputs: list[Output]) -> list[act.Say]:
    found: list[act.Say] = []
    for o in outputs:
        if isinstance(o, act.Gather):
            found += [p for p in o.prompts if isinstance(p, act.Say)]
        elif isinstance(o, act.Say):
            found.append(o)
    return found


def gather(outputs: list[Output]) -> act.Gather:
    return next(o for o in outputs if isinstance(o, act.Gather))


class Line:
    def __init__(self, flow: Flow, session: Session) -> None:
        self.flow = flow
        self.session, self.out = engine.step(flow, session, Event("start"), NOW)

    def send(self, kind: str = "answer", text: str = "", **more: object) -> list[Output]:
        event = Event(kind, text, **more)  # type: ignore[arg-type]
        self.session, self.out = engine.step(self.flow, self.session, event, NOW)
        return self.out


def call(flow: Flow, **preset: str) -> Line:
    return Line(flow, new_call(flow, "CA1", "+15551230000", "+15559990000", preset))


def texting(flow: Flow) -> Line:
    return Line(flow, new_conversation(flow, "+15559990000", "+15551230000", NOW))


def test_the_contract_example_in_english_and_in_spanish() -> None:
    flow = flow_of(contract_example())
    english = call(flow)
    assert [(s.text, s.language, s.voice) for s in says(english.out)] == [
        (
            "Thanks for calling Riverside Clinic. For appointments, press 1.",
            "en-US",
            "Polly.Joanna",
        ),
        ("Para español, oprima 9.", "es-US", "Polly.Lupe"),
    ]
    out = english.send(text="1")
    assert [(s.language, s.voice) for s in says(out)] == [("en-US", "Polly.Joanna")]
    assert says(out)[0].text == "Please enter your four digit patient number."

    spanish = call(flow)
    out = spanish.send(text="9")
    assert spanish.session.vars["language"] == "es-US"
    assert [(s.text, s.language, s.voice) for s in says(out)] == [
        ("Por favor, marque su número de paciente de cuatro dígitos.", "es-US", "Polly.Lupe")
    ]
    out = spanish.send(text="1234")
    assert says(out)[0].text == "Gracias. Una enfermera le devolverá la llamada."
    assert (says(out)[0].language, says(out)[0].voice) == ("es-US", "Polly.Lupe")
    # remember_language: the choice is kept as it is made, once.
    assert [o for o in spanish.out if isinstance(o, KeepLanguage)] == []


def test_choosing_a_language_asks_to_keep_it_when_the_flow_remembers() -> None:
    flow = flow_of(contract_example())
    line = call(flow)
    out = line.send(text="9")
    assert KeepLanguage("es-US") in out
    forgetful = flow_of(contract_example().replace("remember_language: true", ""))
    line = call(forgetful)
    assert not [o for o in line.send(text="9") if isinstance(o, KeepLanguage)]


def test_a_remembered_language_starts_the_call_in_it() -> None:
    flow = flow_of(contract_example())
    line = call(flow, language="es-US")
    line.send(text="1")
    assert says(line.out)[0].text.startswith("Por favor")
    assert not [o for o in line.out if isinstance(o, KeepLanguage)]  # nothing changed


def test_the_flows_no_match_in_the_callers_language() -> None:
    flow = flow_of(contract_example())
    line = call(flow)
    out = line.send(text="7")
    assert (says(out)[0].text, says(out)[0].language) == (
        "Sorry, that isn't one of the options.",
        "en-US",
    )
    line.session = line.session.evolve(vars={**line.session.vars, "language": "es-US"})
    out = line.send(text="7")
    assert (says(out)[0].text, says(out)[0].language, says(out)[0].voice) == (
        "Lo siento, esa no es una opción.",
        "es-US",
        "Polly.Lupe",
    )


SPANISH = """
language: es-MX
voice: Polly.Mia
states:
  menu:
    say: Para citas, oprima 1.
    choices:
      "1": citas
    attempts: 2
  citas:
    say: Gracias.
"""


def test_a_spanish_flow_with_no_no_match_apologises_in_spanish() -> None:
    flow = flow_of(SPANISH)
    line = call(flow)
    out = line.send(text="5")
    sorry = says(out)[0]
    assert (sorry.text, sorry.language, sorry.voice) == (
        PHRASES["es"]["no_match"],
        "es-MX",
        "Polly.Mia",
    )
    out = line.send("no_input")
    assert [s.text for s in says(out)] == [PHRASES["es"]["goodbye"]]
    assert says(out)[0].language == "es-MX"


@pytest.mark.parametrize("language", ["es-US", "fr-CA", "de-DE", "pt-BR", "it-IT", "en-GB"])
def test_the_engines_words_by_the_first_part_of_the_language(language: str) -> None:
    flow = flow_of(SPANISH.replace("es-MX", language))
    line = call(flow)
    words = PHRASES[language[:2]]
    assert says(line.send(text="5"))[0].text == words["no_match"]
    line = call(flow)
    out = line.send("no_input")
    assert (says(out)[0].text, says(out)[0].language) == (words["no_input"], language)


def test_each_language_has_every_phrase_of_the_engine() -> None:
    assert {"en", "es", "fr", "de", "pt", "it"} <= set(PHRASES)
    assert all(set(words) == set(PHRASES["en"]) for words in PHRASES.values())


def test_a_language_the_engine_doesnt_know_gets_english_in_an_english_voice() -> None:
    flow = flow_of(SPANISH.replace("es-MX", "ja-JP").replace("Polly.Mia", "Polly.Mizuki"))
    sorry = says(call(flow).send(text="5"))[0]
    assert (sorry.text, sorry.language, sorry.voice) == (PHRASES["en"]["no_match"], "en-US", None)


SPEECH = """
language: en-US
languages:
  fr-CA: {voice: Polly.Chantal}
states:
  menu:
    say:
      en-US: Say sales.
      fr-CA: Dites ventes.
    choices:
      "sales, ventes": done
    gather: {listen: speech}
  done:
    set: {language: fr-CA}
    say: {en-US: Bye., fr-CA: Au revoir.}
    next: again
  again:
    say: {en-US: Again?}
    save: x
    gather: {listen: both}
"""


def test_speech_is_heard_in_the_conversations_language() -> None:
    flow = flow_of(SPEECH.replace("    say: {en-US: Again?}\n", "    say: Again?\n"))
    line = call(flow)
    assert gather(line.out).language == "en-US"
    out = line.send(text="ventes", input="speech")
    assert gather(out).language == "fr-CA"
    # A plain string is in the flow's language, whatever the conversation's.
    assert [(s.text, s.language, s.voice) for s in says(out)] == [
        ("Au revoir.", "fr-CA", "Polly.Chantal"),
        ("Again?", "en-US", None),
    ]


def test_a_mapping_without_the_conversations_language_falls_back_to_the_flows() -> None:
    flow, problems = load_flow_text(SPEECH, name="f")
    assert flow is not None
    assert [p.message for p in problems] == [
        "`say` in state `again` has no text in `fr-CA`: callers in it hear the `en-US` text"
    ]
    line = call(flow)
    out = line.send(text="sales", input="speech")
    assert says(out)[-1].text == "Again?" and says(out)[-1].language == "en-US"


def test_texts_come_in_the_conversations_language() -> None:
    flow = flow_of(contract_example())
    line = texting(flow)
    assert line.session.vars.get("language") is None
    out = line.send(text="9")
    assert [o.text for o in out if isinstance(o, act.Message)] == [
        "Por favor, marque su número de paciente de cuatro dígitos."
    ]
    out = line.send(text="1234")
    assert [o.text for o in out if isinstance(o, act.Message)] == [
        "Gracias. Una enfermera le devolverá la llamada."
    ]


def test_the_language_variable_in_templates() -> None:
    flow = flow_of(
        "language: en-US\nlanguages: {es-US: {}}\nstates:\n  a:\n"
        "    say: 'Speaking {{ language }}.'\n    next: b\n  b:\n"
        "    set: {language: es-US}\n    say: 'Now {{ language }}.'\n"
    )
    line = call(flow)
    assert [s.text for s in says(line.out)] == ["Speaking en-US.", "Now es-US."]
    # A language listed without a voice is spoken in Twilio's default voice for it.
    assert says(line.out)[1].voice is None


def test_the_published_schema_knows_the_language_forms() -> None:
    # What an editor sees: the contract's example is valid, and a key that is no language
    # code, or a list where a text goes, is underlined where it stands.
    import json

    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    from ivr.flow import yamlload
    from ivr.flow.schema import schema_text

    validator = Draft202012Validator(json.loads(schema_text()))
    doc, _ = yamlload.parse(contract_example(), "f.yaml")
    assert doc is not None
    example = doc.data
    assert list(validator.iter_errors(example)) == []
    example["states"]["thanks"]["say"] = {"Spanish": "Gracias."}
    example["help"] = ["not", "text"]
    example["languages"]["es-US"] = {"voice": "Polly.Lupe", "speed": 2}
    errors = {tuple(e.absolute_path) for e in validator.iter_errors(example)}
    assert errors == {("states", "thanks", "say"), ("help",), ("languages", "es-US")}


def test_the_path_says_where_the_language_changed() -> None:
    flow = flow_of(contract_example())
    line = call(flow)
    line.send(text="9")
    steps = [(s.state, s.event, s.answer) for s in line.session.path]
    assert ("spanish", "language", "es-US") in steps
    assert (
        steps.index(("spanish", "language", "es-US")) == steps.index(("spanish", "enter", None)) + 1
    )


def test_a_text_too_long_for_a_message_in_one_language_is_warned_of() -> None:
    long = "Hola. " * 300  # 1,800 characters: one text message holds 1,600
    text = "language: en-US\nlanguages: {es-US: {}}\nstates:\n  a:\n    say:\n"
    text += f"      en-US: Hello.\n      es-US: '{long}'\n"
    flow, problems = load_flow_text(text, name="f")
    assert flow is not None
    assert [(p.line, p.message[:34]) for p in problems] == [
        (6, "state `a` says 1,800 characters: a")
    ]
