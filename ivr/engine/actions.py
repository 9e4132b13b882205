"""What the engine asks Twilio to do, independent of TwiML.

The engine returns a list of these; the render module turns them into a TwiML document. Waits
(`Gather`, `RecordAudio`, `Connect`) carry the sequence number of the wait so that the render
module can put it in the callback URL and a stale callback can be recognised.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None
    language: str | None = None
    loop: int = 1


@dataclass(frozen=True)
class Play:
    url: str
    loop: int = 1


@dataclass(frozen=True)
class Pause:
    seconds: int = 1


Prompt = Say | Play | Pause


@dataclass(frozen=True)
class Gather:
    seq: int
    prompts: tuple[Prompt, ...]
    input: str = "dtmf"  # "dtmf", "speech" or "dtmf speech"
    num_digits: int | None = None
    timeout: int = 5
    finish_on_key: str = "#"
    hints: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class RecordAudio:
    """`<Record>`: its settings come whole from the state's `record` (the model's defaults)."""

    seq: int
    max_length: int
    timeout: int
    finish_on_key: str
    beep: bool
    transcribe: bool


@dataclass(frozen=True)
class Connect:
    """`<Dial>`: ring one number or several at once, or take the next caller of a queue."""

    seq: int
    numbers: tuple[str, ...]
    timeout: int = 30
    caller_id: str | None = None
    record: bool = False
    queue: str | None = None


@dataclass(frozen=True)
class Enqueue:
    """`<Enqueue>`: hold the caller in a named queue. Twilio asks the wait URL what to play
    while they wait, and the action URL when they leave it; both carry the wait's `seq`."""

    seq: int
    name: str


@dataclass(frozen=True)
class Leave:
    """`<Leave>`, in a wait URL's answer: take the caller out of the queue."""


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Reject:
    reason: str = "rejected"


@dataclass(frozen=True)
class Message:
    """One SMS reply."""

    text: str


Action = (
    Say
    | Play
    | Pause
    | Gather
    | RecordAudio
    | Connect
    | Enqueue
    | Leave
    | Redirect
    | Hangup
    | Reject
    | Message
)


SMS_LIMIT = 1600


def split_sms(text: str, limit: int = SMS_LIMIT) -> list[str]:
    """Cut a long reply into parts of at most `limit` characters, at spaces where possible."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        if cut <= limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts
