"""A stand-in for Twilio's side of a call or a text, speaking the real webhook protocol.

It posts the form fields Twilio posts, signed the way Twilio signs them, reads the TwiML that
comes back and does what Twilio would: speaks prompts, waits in `<Gather>`, `<Record>` and
`<Dial>` and `<Enqueue>` for the caller's next move (see `ivr.tools.callside`), follows
`<Redirect>`, and sends the status callback when the call ends. `ivr simulate`, `ivr test`
and the end-to-end tests all drive flows through it.
"""

from __future__ import annotations

from ivr.tools.callside import CallSide
from ivr.tools.onhold import Switchboard
from ivr.tools.wire import (
    ClientTransport,
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
    "Switchboard",
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


class Call(CallSide):
    """One phone call to `flow`: `start()`, then the caller's moves, until `ended`."""

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
        bridged, self._bridged = self._bridged, None
        if bridged is not None and answered:  # the staff call ends: the caller's queue is told
            bridged.taken()
        if not wait.verb.get("action"):
            self._run(wait.rest)
        else:
            self._fetch(self._resolve(wait.verb.get("action", "")), fields)
        return list(self.heard)

    def hold(self, seconds: int) -> list[str]:
        """Wait `seconds` more on hold, hearing what the wait URL gives."""
        self._expect("queue", "time on hold")
        self._begin()
        assert self._hold is not None
        self._on_hold(self._hold.waited + max(0, seconds))
        return list(self.heard)

    def take(self) -> list[str]:
        """A staff member takes the call on hold; the action URL hears after they spoke."""
        self._expect("queue", "a staff member")
        self._taken()
        return list(self.heard)

    def hangup(self) -> list[str]:
        """The caller hangs up; Twilio sends the status callback."""
        if self.ended:
            raise WrongMove("the call has already ended")
        self._begin()
        hold, self._hold = self._hold, None
        if hold is not None:  # Twilio tells the queue's action URL first
            self.board.leave(hold)
            if hold.action:
                self._post_call(hold.action, hold.leave_fields("hangup"))
        self._end("completed")
        return []
