"""How the console tells how a conversation ended, and counts the traffic through a flow."""

from __future__ import annotations

from ivr.console.messages import _credentials
from ivr.console.traffic import ending, traffic
from ivr.engine.session import Session, Step
from ivr.settings import Settings


def conv(*steps: tuple[float, str, str | None, str], **kw: object) -> Session:
    path = tuple(Step(at, state, answer, event) for at, state, answer, event in steps)
    return Session(key="CA1", flow="f", version="v", channel="voice", path=path, **kw)  # type: ignore[arg-type]


FINISHED = conv((1.0, "menu", None, "enter"), (2.0, "menu", "1", "answer"),
                (2.0, "bye", None, "enter"), (2.0, "bye", "completed", "end"),
                ended=True, outcome="completed")  # fmt: skip
HUNG_UP = conv((1.0, "menu", None, "enter"), (9.0, "menu", "completed", "end"),
               ended=True, outcome="completed")  # fmt: skip
TRANSFERRED = conv((1.0, "op", None, "enter"), (5.0, "op", "completed", "dial"),
                   (5.0, "op", "completed", "end"), ended=True, outcome="completed")  # fmt: skip


def test_endings_read_from_the_path() -> None:
    assert ending(FINISHED) == "finished"
    assert ending(HUNG_UP) == "hung up"  # the end came later, from the status callback
    assert ending(TRANSFERRED) == "transferred"
    assert ending(conv((1.0, "menu", None, "enter"))) == "live"
    assert ending(conv(ended=True, outcome="busy")) == "failed"
    assert ending(conv(ended=True, outcome="stop")) == "opted out"
    assert ending(conv(ended=True, outcome="rejected")) == "rejected"
    assert ending(conv(ended=True, outcome="timeout")) == "hung up"


def test_traffic_counts_conversations_per_state_and_where_they_ended() -> None:
    looped = conv((1.0, "menu", None, "enter"), (2.0, "menu", None, "enter"),
                  (9.0, "menu", "completed", "end"), ended=True, outcome="completed")  # fmt: skip
    counts = traffic([FINISHED, HUNG_UP, looped])
    assert counts.conversations == 3
    assert counts.states["menu"].entered == 3  # conversations, not visits
    assert counts.states["menu"].ended == {"hung up": 2}
    assert counts.states["bye"].entered == 1 and counts.states["bye"].ended == {"finished": 1}
    assert counts.endings == {"hung up": 2, "finished": 1}


def test_twilios_credentials_go_to_twilio_only() -> None:
    s = Settings(account_sid="AC1", auth_token="tok")
    twilio = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    assert _credentials(s, twilio) == ("AC1", "tok")
    assert _credentials(s, "https://api.twilio.com.evil.example/RE1") is None
    assert _credentials(s, "http://127.0.0.1:9/RE1") is None
    keyed = Settings(account_sid="AC1", auth_token="tok", api_key="SK1", api_secret="sec")
    assert _credentials(keyed, twilio) == ("SK1", "sec")
