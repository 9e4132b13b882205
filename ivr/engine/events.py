"""What the engine is told (events) and what it reports besides TwiML actions.

The webhooks turn Twilio's requests into `Event`s; the engine answers with actions for Twilio
and, beside them, messages to keep (`KeepMessage`) and lines for the server's log (`Log`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ivr.engine import actions as act
from ivr.engine import answers


@dataclass(frozen=True)
class Event:
    """What happened: the call or text arrived, an answer came, a recording or dial ended."""

    kind: Literal["start", "answer", "no_input", "record", "dial", "repeat", "hangup"]
    text: str = ""
    input: answers.Kind = "keys"
    media: tuple[str, ...] = ()
    url: str = ""  # the recording's URL
    duration: int = 0
    status: str = ""  # DialCallStatus, or CallStatus for a hangup


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
class Log:
    level: Literal["warning", "error"]
    message: str


# What the engine reports beside the actions for Twilio: the web layer keeps, sends or logs it.
Effect = KeepMessage | SendText | Notify | FlipSwitch | Log
Output = act.Action | Effect
