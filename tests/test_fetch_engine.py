"""The engine and a `fetch`: the request is an output of `step`, its reply an event, no I/O."""

from __future__ import annotations

import datetime as dt

from ivr.engine import actions as act
from ivr.engine import machine as engine
from ivr.engine.fetching import FetchReply, read_reply, timed_out
from ivr.engine.session import Session
from ivr.flow.loader import load_flow_text
from ivr.flow.model import Flow

NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
FLOW = """
vars: {clinic: Riverside}
states:
  find:
    set: {patient: "1234"}
    say: One moment.
    fetch:
      url: "https://clinic.example.com/a?p={{ patient }}"
      headers: {Authorization: "Bearer {{ secret.KEY }}"}
      save: {when: next.time, first: items.0.name}
    next: tell
  tell:
    say: "{{ when }} {{ first }} ({{ fetch_status }})"
"""


def flow(text: str = FLOW) -> Flow:
    loaded, problems = load_flow_text(text, name="f")
    assert loaded is not None, problems
    return loaded


def start(channel: str = "voice") -> tuple[Flow, Session, list[engine.Output]]:
    f = flow()
    fresh = Session(key="CA1", flow="f", version=f.version, channel=channel)  # type: ignore[arg-type]
    after, outputs = engine.step(f, fresh, engine.Event("start"), NOW)
    return f, after, outputs


def test_entering_a_fetch_says_its_prompts_and_asks_for_the_request() -> None:
    f, after, outputs = start()
    assert after.waiting == "fetch" and after.state == "find"
    assert isinstance(outputs[0], act.Say) and outputs[0].text == "One moment."
    request = outputs[1]
    assert isinstance(request, engine.FetchRequest)
    assert (request.state, request.seq) == ("find", after.seq)
    assert request.variables["patient"] == "1234" and request.variables["clinic"] == "Riverside"
    assert engine.pending_fetch(f, after) == request


def test_the_reply_fills_the_variables_and_goes_on() -> None:
    f, waiting, _ = start()
    body = b'{"next": {"time": "noon"}, "items": [{"name": "check-up"}]}'
    reply = read_reply(200, body, wants_json=True)
    after, outputs = engine.step(f, waiting, engine.Event("fetched", reply=reply), NOW)
    said = [o.text for o in outputs if isinstance(o, act.Say)]
    assert said == ["noon check-up (200)"]
    assert after.ended and after.path[-2].event == "enter"
    assert [s.event for s in after.path if s.state == "find"][-1] == "fetch"
    assert "items" not in after.to_json()  # only the saved values are kept, not the reply


def test_a_failure_without_if_failed_goes_on_with_the_variables_empty() -> None:
    f, waiting, _ = start("sms")
    stale = {**waiting.vars, "when": "yesterday"}
    waiting = waiting.evolve(vars=stale)
    after, outputs = engine.step(f, waiting, engine.Event("fetched", reply=timed_out(5)), NOW)
    assert [o.text.strip() for o in outputs if isinstance(o, act.Message)] == ["(timeout)"]
    assert after.vars["when"] == "" and after.vars["fetch_status"] == "timeout"


def test_an_answer_while_a_request_is_under_way_asks_for_it_again() -> None:
    f, waiting, _ = start()
    after, outputs = engine.step(f, waiting, engine.Event("answer", text="1"), NOW)
    assert after.waiting == "fetch" and after.seq == waiting.seq + 1
    assert any(isinstance(o, engine.FetchRequest) for o in outputs)


def test_a_reply_when_no_request_is_waited_on_changes_nothing() -> None:
    f, waiting, _ = start()
    done, _ = engine.step(f, waiting, engine.Event("fetched", reply=timed_out(5)), NOW)
    reply = FetchReply("200", False, {"next": {"time": "noon"}})
    after, outputs = engine.step(f, done, engine.Event("fetched", reply=reply), NOW)
    assert after.ended and "noon" not in after.to_json()
    assert engine.pending_fetch(f, after) is None
