"""`text`, `notify` and switches in the engine: what a step decides to send and to turn.

The engine only decides: each text, note and switch is an output of `step()`. Nothing is sent
here; the delivery has its own tests.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ivr.engine import actions as act
from ivr.engine import machine as engine
from ivr.engine.events import Event, FlipSwitch, KeepMessage, Notify, Output, SendText
from ivr.engine.session import Session
from ivr.flow.loader import load_flow, load_flow_text
from ivr.flow.model import Flow

HERE = Path(__file__).parent
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 in New York
CALLER, OURS = "+15551230001", "+15559990000"


def vet() -> Flow:
    flow, problems = load_flow(HERE / "good" / "telling.yaml")
    assert flow is not None and problems == [], problems
    return flow


def start(
    flow: Flow, channel: str = "voice", switches: dict[str, bool] | None = None, first: str = ""
) -> tuple[Session, list[Output]]:
    session = Session(
        key="CA1",
        flow=flow.name,
        version=flow.version,
        channel=channel,
        caller=CALLER,  # type: ignore[arg-type]
        called=OURS,
        vars={"caller": CALLER, "called": OURS},
    )
    return engine.step(flow, session, Event("start", first), NOW, switches)


def of(kind: type, outputs: list[Output]) -> list[object]:
    return [o for o in outputs if isinstance(o, kind)]


def test_every_example_of_the_contract_is_in_the_checked_flow() -> None:
    text = (HERE.parent / "docs" / "flow-format.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (?:Telling people|Switches)\n(.*?)(?=^## )", text, re.M | re.S)
    blocks = [b for s in sections for b in re.findall(r"```yaml\n(.*?)```", s, re.S)]
    assert len(blocks) == 3
    flow = (HERE / "good" / "telling.yaml").read_text(encoding="utf-8")
    for block in blocks:
        assert block in flow


def test_a_text_on_a_call_goes_to_the_caller_from_the_number_called() -> None:
    flow = vet()
    session, _ = start(flow)
    session, out = engine.step(flow, session, Event("answer", "1"), NOW)
    [sent] = of(SendText, out)
    assert sent == SendText(
        "directions",
        "Riverside Clinic, 12 Main St. Map: https://maps.example.com/riverside",
        CALLER,
        OURS,
    )
    assert session.state == "main_menu"  # the call goes on while the text is sent


def test_a_text_elsewhere_fills_its_template() -> None:
    flow = vet()
    session, _ = start(flow)
    _, out = engine.step(flow, session, Event("answer", "2"), NOW)
    assert of(SendText, out) == [
        SendText("urgent", f"Urgent callback for {CALLER}", "+15555550150", OURS)
    ]


def test_on_sms_a_text_to_the_texter_is_one_more_message_of_the_reply() -> None:
    flow = vet()
    session, _ = start(flow, "sms", first="hi")
    _, out = engine.step(flow, session, Event("answer", "1", input="text"), NOW)
    messages = [o.text for o in out if isinstance(o, act.Message)]
    assert messages[:2] == [
        "I've texted you our address.",
        "Riverside Clinic, 12 Main St. Map: https://maps.example.com/riverside",
    ]
    assert of(SendText, out) == []
    # A text to someone else is still sent apart from the reply.
    session, _ = start(flow, "sms", first="hi")
    _, out = engine.step(flow, session, Event("answer", "2", input="text"), NOW)
    assert [s.to for s in of(SendText, out)] == ["+15555550150"]  # type: ignore[attr-defined]


def test_a_switch_decides_the_branch() -> None:
    flow = vet()
    assert flow.switches == {"closed_today"}
    assert start(flow)[0].state == "main_menu"
    assert start(flow, switches={"closed_today": False})[0].state == "main_menu"
    assert start(flow, switches={"closed_today": True})[0].state == "closed"


def test_a_state_turns_a_switch_and_the_same_step_sees_it() -> None:
    flow, problems = load_flow_text(
        """
states:
  staff:
    switch: {closed_today: on, night: off}
    next: check
  check:
    branch:
      - if: {switch: closed_today}
        next: closed
      - next: open
  open:
    say: Open.
  closed:
    say: Closed.
""",
        name="staff",
    )
    assert flow is not None, problems
    _, out = start(flow, switches={"closed_today": False, "night": True})
    assert of(FlipSwitch, out) == [FlipSwitch("closed_today", True), FlipSwitch("night", False)]
    assert [o.text for o in out if isinstance(o, act.Say)] == ["Closed."]


def test_a_voicemail_tells_the_office_and_waits_for_its_transcription() -> None:
    flow = vet()
    session, _ = start(flow, switches={"closed_today": True})
    event = Event("record", url="https://api.twilio.com/rec/RE1", duration=12)
    _, out = engine.step(flow, session, event, NOW)
    assert of(KeepMessage, out) == [KeepMessage("closed", "https://api.twilio.com/rec/RE1", 12)]
    assert of(Notify, out) == [
        Notify("closed", ("+15555550100",), ("frontdesk@example.com",), wait=True)
    ]


def test_a_state_notify_replaces_the_flows_and_nothing_is_kept_nothing_is_told() -> None:
    flow, problems = load_flow_text(
        """
notify: {email: office@example.com}
states:
  message:
    say: Text us your message.
    record: true
    notify: {sms: "+15555550100"}
""",
        name="line",
    )
    assert flow is not None, problems
    session, _ = start(flow, "sms", first="hello")
    assert session.waiting == "record"
    _, out = engine.step(flow, session, Event("record", "The tap drips", input="text"), NOW)
    assert of(Notify, out) == [Notify("message", ("+15555550100",), (), wait=False)]
    session, _ = start(flow)
    _, out = engine.step(flow, session, Event("record"), NOW)  # hung up at the beep
    assert of(KeepMessage, out) == [] and of(Notify, out) == []


def test_a_webhook_twilio_sends_twice_sends_nothing_twice() -> None:
    flow, problems = load_flow_text(
        """
states:
  transfer:
    switch: {busy_line: on}
    say: Connecting you. I've texted you the number too.
    text: "Our direct line: +15555550100"
    dial: "+15555550100"
""",
        name="transfer",
    )
    assert flow is not None, problems
    session, out = start(flow)
    assert len(of(SendText, out)) == 1 and len(of(FlipSwitch, out)) == 1
    session, again = engine.step(flow, session, Event("repeat"), NOW)
    assert [o for o in again if isinstance(o, act.Connect)]  # the dial is said again
    assert of(SendText, again) == [] and of(FlipSwitch, again) == []


def test_a_text_is_sent_in_the_conversations_language() -> None:
    flow, problems = load_flow_text(
        """
language: en-US
languages:
  es-US: {voice: Polly.Lupe}
states:
  spanish:
    set: {language: es-US}
    text:
      en-US: "Our address: 12 Main St."
      es-US: "Nuestra dirección: 12 Main St."
    next: urgent
  urgent:
    text:
      body: {en-US: "Call back {{ caller }}", es-US: "Llamar a {{ caller }}"}
      to: "+15555550150"
""",
        name="bilingual",
    )
    assert flow is not None, problems
    _, out = start(flow)
    assert [(s.body, s.to) for s in of(SendText, out)] == [  # type: ignore[attr-defined]
        ("Nuestra dirección: 12 Main St.", CALLER),
        (f"Llamar a {CALLER}", "+15555550150"),
    ]
