"""A stand-in for Twilio's side of a call or a text, speaking the real webhook protocol.

It posts the form fields Twilio posts, signed the way Twilio signs them, reads the TwiML that
comes back and does what Twilio would: speaks prompts, waits in `<Gather>`, `<Record>` and
`<Dial>` for the caller's next move, follows `<Redirect>`, and sends the status callback when
the call ends. `ivr simulate`, `ivr test` and the end-to-end tests all drive flows through it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

from ivr.tools.wire import (
    DEFAULT_CALLED,
    DEFAULT_CALLER,
    ClientTransport,
    Line,
    PhoneError,
    Texting,
    Transport,
    WrongMove,
    app_transport,
    http_transport,
    new_sid,
    parse_twiml,
)

__all__ = [
    "Call",
    "ClientTransport",
    "PhoneError",
    "Texting",
    "Transport",
    "WrongMove",
    "app_transport",
    "http_transport",
]

DIAL_OUTCOMES = {
    "answered": "completed",
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "canceled",
}
# A reply that only ever redirects would keep a real call busy forever; here it is an error.
MAX_HOPS = 30


@dataclass
class _Wait:
    kind: Literal["gather", "record", "dial"]
    verb: ET.Element
    rest: list[ET.Element]  # what Twilio does next when the wait ends without calling back


class Call(Line):
    """One phone call to `flow`: `start()`, then the caller's moves, until `ended`."""

    def __init__(
        self,
        transport: Transport,
        flow: str,
        caller: str = DEFAULT_CALLER,
        called: str = DEFAULT_CALLED,
        *,
        token: str,
        outbound: bool = False,
    ) -> None:
        super().__init__(transport, flow, token, caller, called)
        self.outbound = outbound  # we called `caller` from `called`, as `ivr call` does
        self.sid = new_sid("CA")
        self.heard: list[str] = []  # what the caller heard since their last move
        # The language and voice of each item heard (empty for audio, pauses and beeps).
        self.accents: list[tuple[str, str]] = []
        self.notes: list[str] = []  # what Twilio did that the caller can't hear
        self.ended = False
        self.status = "ringing"
        self._wait: _Wait | None = None
        self._url = f"{transport.base_url}/voice/{flow}"  # the document being played
        self._hops = 0

    @property
    def waiting(self) -> str:
        """What the call waits for, in words: `keys`, `speech`, `keys or speech`, ..."""
        if self._wait is None:
            return ""
        if self._wait.kind == "gather":
            listens = self._wait.verb.get("input", "dtmf").split()
            return " or ".join(("keys" if x == "dtmf" else x) for x in listens)
        return "a recording" if self._wait.kind == "record" else "the dial to end"

    # -- the caller's moves ----------------------------------------------------------------
    def start(self) -> list[str]:
        """Place the call: Twilio's first webhook, and everything said until the first wait."""
        self._begin()
        body = self._post_call(self._url, {})
        self.status = "in-progress"  # Twilio says "ringing" in the first webhook only
        self._run(list(parse_twiml(body)))
        return list(self.heard)

    def press(self, keys: str) -> list[str]:
        if not keys or any(k not in "0123456789*#" for k in keys):
            raise WrongMove(f"{keys!r} is not keys: use 0-9, * and #")
        wait = self._expect("gather", "keys")
        self._begin()
        if "dtmf" not in wait.verb.get("input", "dtmf").split():
            self.notes.append("this wait listens for speech only: the keys were not heard")
            return self._empty(wait)
        finish = wait.verb.get("finishOnKey", "#")
        limit = int(wait.verb.get("numDigits", "0") or 0)
        digits = ""
        for key in keys:
            if finish and key == finish:
                break
            digits += key
            if limit and len(digits) >= limit:
                break  # Twilio stops listening; later keys are lost
        if not digits:
            return self._empty(wait)
        return self._answer(wait, {"Digits": digits})

    def say(self, words: str, confidence: float = 0.92) -> list[str]:
        wait = self._expect("gather", "speech")
        self._begin()
        if "speech" not in wait.verb.get("input", "dtmf").split():
            self.notes.append("this wait listens for keys only: what was said was not heard")
            return self._empty(wait)
        return self._answer(wait, {"SpeechResult": words, "Confidence": f"{confidence:.2f}"})

    def silence(self) -> list[str]:
        """The caller says nothing: a Gather or a Record times out empty."""
        kind = "record" if self._wait is not None and self._wait.kind == "record" else "gather"
        wait = self._expect(kind, "silence")
        self._begin()
        return self._empty(wait)

    def record(self, seconds: int = 5, transcript: str = "") -> list[str]:
        wait = self._expect("record", "a recording")
        self._begin()
        seconds = min(seconds, int(wait.verb.get("maxLength", "3600")))
        if seconds <= 0:
            return self._empty(wait)
        recording = new_sid("RE")
        url = f"https://api.twilio.com/2010-04-01/Accounts/{self.account}/Recordings/{recording}"
        fields = {"RecordingUrl": url, "RecordingSid": recording, "RecordingDuration": str(seconds)}
        body = self._post_call(self._resolve(wait.verb.get("action", "")), fields)
        if wait.verb.get("transcribe") == "true":
            # Twilio transcribes later, on its own; the call has already gone on.
            callback = self._resolve(wait.verb.get("transcribeCallback", ""))
            self._post_call(
                callback,
                {
                    "TranscriptionText": transcript or "(a message)",
                    "TranscriptionStatus": "completed",
                    "TranscriptionSid": new_sid("TR"),
                    "RecordingUrl": url,
                    "RecordingSid": recording,
                },
            )
        self._run(list(parse_twiml(body)))
        return list(self.heard)

    def dial(self, outcome: str) -> list[str]:
        if outcome not in DIAL_OUTCOMES:
            raise WrongMove(f"{outcome!r} is not how a dial ends: use " + ", ".join(DIAL_OUTCOMES))
        wait = self._expect("dial", "a dial")
        self._begin()
        answered = outcome == "answered"
        fields = {
            "DialCallStatus": DIAL_OUTCOMES[outcome],
            "DialCallSid": new_sid("CA"),
            "DialCallDuration": "42" if answered else "0",
        }
        if not wait.verb.get("action"):
            self._run(wait.rest)
        else:
            self._fetch(self._resolve(wait.verb.get("action", "")), fields)
        return list(self.heard)

    def hangup(self) -> list[str]:
        """The caller hangs up; Twilio sends the status callback."""
        if self.ended:
            raise WrongMove("the call has already ended")
        self._begin()
        self._end("completed")
        return []

    # -- what Twilio does ------------------------------------------------------------------
    def _begin(self) -> None:
        self.heard, self.accents, self.notes, self._hops = [], [], [], 0

    def _expect(self, kind: str, move: str) -> _Wait:
        if self.ended or self._wait is None:
            raise WrongMove("the call has ended")
        if self._wait.kind != kind:
            raise WrongMove(f"the call waits for {self.waiting}, not {move}")
        return self._wait

    def _resolve(self, url: str) -> str:
        # Twilio resolves a relative or path-only URL against the document it came in.
        return urljoin(self._url, url or self._url)

    def _fields(self, extra: Mapping[str, str]) -> dict[str, str]:
        # Twilio's From is whoever placed the call: the caller, or our number when we called.
        src, dst = (self.called, self.caller) if self.outbound else (self.caller, self.called)
        return {
            "AccountSid": self.account,
            "CallSid": self.sid,
            "From": src,
            "To": dst,
            "Caller": src,
            "Called": dst,
            "Direction": "outbound-api" if self.outbound else "inbound",
            "CallStatus": self.status,
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def _post_call(self, url: str, extra: Mapping[str, str]) -> str:
        self._hops += 1
        if self._hops > MAX_HOPS:
            raise PhoneError(
                f"the call went through {MAX_HOPS} webhooks without waiting for the caller"
            )
        try:
            return self._post(url, self._fields(extra))
        except PhoneError:
            self.ended, self._wait = True, None  # Twilio apologises and hangs up
            raise

    def _fetch(self, url: str, extra: Mapping[str, str]) -> None:
        body = self._post_call(url, extra)
        self._url = url
        self._run(list(parse_twiml(body)))

    def _answer(self, wait: _Wait, extra: Mapping[str, str]) -> list[str]:
        self._fetch(self._resolve(wait.verb.get("action", "")), extra)
        return list(self.heard)

    def _empty(self, wait: _Wait) -> list[str]:
        if wait.kind == "gather" and wait.verb.get("actionOnEmptyResult") == "true":
            return self._answer(wait, {"Digits": ""})
        self._run(wait.rest)  # Twilio goes on with the verb after the wait
        return list(self.heard)

    def _run(self, verbs: list[ET.Element]) -> None:
        self._wait = None
        for i, verb in enumerate(verbs):
            rest = verbs[i + 1 :]
            if verb.tag in ("Say", "Play", "Pause"):
                self._prompt(verb)
            elif verb.tag == "Gather":
                for inner in verb:
                    self._prompt(inner)
                self._wait = _Wait("gather", verb, rest)
                return
            elif verb.tag == "Record":
                if verb.get("playBeep", "true") != "false":
                    self.heard.append("[beep]")
                    self.accents.append(("", ""))
                self._wait = _Wait("record", verb, rest)
                return
            elif verb.tag == "Dial":
                numbers = [n.text or "" for n in verb] or [verb.text or ""]
                self.heard.append(f"[ringing {', '.join(x.strip() for x in numbers)}]")
                self.accents.append(("", ""))
                self._wait = _Wait("dial", verb, rest)
                return
            elif verb.tag == "Redirect":
                self._fetch(self._resolve(verb.text or ""), {})
                return
            elif verb.tag == "Reject":
                self._end("busy" if verb.get("reason") == "busy" else "no-answer")
                return
            elif verb.tag == "Hangup":
                self._end("completed")
                return
            else:
                self.notes.append(f"<{verb.tag}> is not something this phone can do; skipped")
        self._end("completed")  # the end of the document ends the call

    def _prompt(self, verb: ET.Element) -> None:
        text = " ".join((verb.text or "").split())
        if verb.tag == "Say":
            self.heard.append(text)
            self.accents.append((verb.get("language", ""), verb.get("voice", "")))
            return
        self.accents.append(("", ""))
        if verb.tag == "Play":
            self.heard.append(f"[audio {text}]")
        elif verb.tag == "Pause":
            self.heard.append(f"[pause {verb.get('length', '1')} s]")

    def _end(self, status: str) -> None:
        self.ended, self._wait, self.status = True, None, status
        self._post_call(
            f"{self.transport.base_url}/voice/{self.flow}/status",
            {"CallStatus": status, "CallDuration": "60"},
        )
