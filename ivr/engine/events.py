"""What the engine is told (events) and what it reports besides TwiML actions.

The webhooks turn Twilio's requests into `Event`s; the engine answers with actions for Twilio
and, beside them, messages to keep (`KeepMessage`), requests to other systems (`FetchRequest`,
whose reply comes back as a `fetched` event) and lines for the server's log (`Log`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ivr.engine import actions as act
from ivr.engine import answers
from ivr.engine.fetching import FetchReply
from ivr.flow.fetch import Fetch


@dataclass(frozen=True)
class Event:
    """What happened: the call or text arrived, an answer came, a recording or dial ended."""

    kind: Literal[
        "start", "answer", "no_input", "record", "dial", "fetched", "hold", "queued", "repeat",
        "hangup",
    ]  # fmt: skip
    text: str = ""
    input: answers.Kind = "keys"
    media: tuple[str, ...] = ()
    url: str = ""  # the recording's URL
    duration: int = 0
    status: str = ""  # DialCallStatus, QueueResult, or CallStatus for a hangup
    reply: FetchReply | None = None  # how a `fetch` went
    position: int = 0  # on hold (`hold`): the caller's place in line (QueuePosition)
    waited: int = 0  # on hold, and leaving the queue (`queued`): seconds in it (QueueTime)


@dataclass(frozen=True)
class KeepMessage:
    """A recording (or, on SMS, a text) to keep as a message for the office."""

    state: str
    url: str = ""
    duration: int = 0
    text: str = ""
    media: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendText:
    """A text sent through Twilio's REST API, apart from any reply: from the outbox, later."""

    state: str
    body: str
    to: str
    sender: str


@dataclass(frozen=True)
class Notify:
    """Tell people of the message kept in the same step, by text and by email."""

    state: str
    sms: tuple[str, ...] = ()
    email: tuple[str, ...] = ()
    wait: bool = False  # the recording is being transcribed: wait for its text


@dataclass(frozen=True)
class FlipSwitch:
    """Turn a named switch on or off, for the whole server."""

    name: str
    on: bool


@dataclass(frozen=True)
class FetchRequest:
    """Ask another system, then come back with a `fetched` event (the wait's `seq`).

    It carries the variables to fill the request with, never a secret: the web layer adds those
    as it sends it, and drops the request once sent.
    """

    state: str
    seq: int
    fetch: Fetch
    variables: Mapping[str, str]


@dataclass(frozen=True)
class KeepLanguage:
    """The caller chose a language, in a flow with `remember_language`: keep it for their next
    call or text."""

    language: str


@dataclass(frozen=True)
class Log:
    level: Literal["warning", "error"]
    message: str


# What the engine reports beside the actions for Twilio: the web layer keeps, sends, asks
# (a `fetch`) or logs it.
Effect = KeepMessage | SendText | Notify | FlipSwitch | FetchRequest | KeepLanguage | Log
Output = act.Action | Effect
