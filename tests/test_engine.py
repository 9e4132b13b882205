"""The engine alone: pure steps with a fixed clock, no HTTP."""

from __future__ import annotations

import datetime as dt

from ivr.engine import actions as act
from ivr.engine import machine as engine
from ivr.engine.session import Session
from ivr.flow.model import BranchItem, Condition, Flow, Prompt, State

NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


def session(channel: str = "voice") -> Session:
    return Session(key="CA1", flow="f", version="v", channel=channel)  # type: ignore[arg-type]


def test_a_runaway_chain_ends_with_an_apology_and_a_logged_error() -> None:
    # The checker refuses such loops; the engine must end one all the same.
    states = {
        "a": State("a", say=(Prompt("say", "A."),), next="b"),
        "b": State("b", branch=(BranchItem(None, "a"),)),
    }
    flow = Flow(name="f", states=states, start="a")
    after, outputs = engine.step(flow, session(), engine.Event("start"), NOW)
    assert after.ended and after.outcome == "error"
    logs = [o for o in outputs if isinstance(o, engine.Log)]
    assert logs and "without waiting" in logs[0].message
    said = [o.text for o in outputs if isinstance(o, act.Say)]
    assert said[-1].startswith("Sorry, something went wrong")
    assert isinstance(outputs[-1], act.Hangup)


def test_branch_conditions_on_variables_and_channel() -> None:
    states = {
        "a": State("a", set=(("n", "42"),), next="b"),
        "b": State(
            "b",
            branch=(
                BranchItem(Condition("channel", "sms"), "sms"),
                BranchItem(Condition("var", "n", "in", ("41", "42")), "in"),
                BranchItem(None, "other"),
            ),
        ),
        "sms": State("sms", say=(Prompt("say", "sms"),)),
        "in": State("in", say=(Prompt("say", "in {{ n }}"),)),
        "other": State("other", say=(Prompt("say", "other"),)),
    }
    flow = Flow(name="f", states=states, start="a")
    _, out = engine.step(flow, session(), engine.Event("start"), NOW)
    assert [o.text for o in out if isinstance(o, act.Say)] == ["in 42"]
    _, out = engine.step(flow, session("sms"), engine.Event("start"), NOW)
    assert [o.text for o in out if isinstance(o, act.Message)] == ["sms"]
    assert isinstance(out[-1], act.Message)  # no Hangup on SMS


def test_default_failure_lines_and_default_goodbye() -> None:
    from ivr.flow.model import Choice

    states = {
        "m": State("m", say=(Prompt("say", "Pick."),), choices=(Choice(("1",), "m"),), attempts=2)
    }
    flow = Flow(name="f", states=states, start="m")
    s, _ = engine.step(flow, session(), engine.Event("start"), NOW)
    s, out = engine.step(flow, s, engine.Event("no_input"), NOW)
    assert [o.text for o in out if isinstance(o, act.Say)] == [engine.DEFAULT_NO_INPUT]
    s, out = engine.step(flow, s, engine.Event("answer", text="5"), NOW)
    assert [o.text for o in out if isinstance(o, act.Say)] == [engine.GOODBYE]
    assert s.ended and s.outcome == "failed"
