"""Twilio's side of a call for the phone: the webhooks it posts and the TwiML verbs it plays.

`CallSide` reads each answer as Twilio would: speaks prompts, stops in `<Gather>`, `<Record>`,
`<Dial>` and `<Enqueue>` to wait for the caller's next move (see `ivr.tools.phone`), follows
`<Redirect>`, and sends the status callback when the call ends.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

from ivr.tools.onhold import Holding, Switchboard
from ivr.tools.wire import (
    DEFAULT_CALLED,
    DEFAULT_CALLER,
    Line,
    PhoneError,
    Transport,
    WrongMove,
    new_sid,
    parse_twiml,
)

# A reply that only ever redirects would keep a real call busy forever; here it is an error.
MAX_HOPS = 30


@dataclass
class Wait:
    kind: Literal["gather", "record", "dial", "queue"]
    verb: ET.Element
    rest: list[ET.Element]  # what Twilio does next when the wait ends without calling back


class CallSide(Line):
    """A call as Twilio plays it; `Call` adds the caller's moves."""

    def __init__(
        self,
        transport: Transport,
        flow: str,
        caller: str = DEFAULT_CALLER,
        called: str = DEFAULT_CALLED,
        *,
        token: str,
        outbound: bool = False,
        answered_by: str = "",
        board: Switchboard | None = None,
        url: str = "",
        status_callback: str = "",
    ) -> None:
        super().__init__(transport, flow, token, caller, called)
        self.outbound = outbound  # we called `caller` from `called`, as `ivr call` does
        self.answered_by = answered_by  # Twilio's AnsweredBy, for a call placed with detection
        self.board = board or Switchboard()  # the account's queues, shared by its calls
        self._hold: Holding | None = None  # the queue this caller waits in
        self._bridged: Holding | None = None  # the caller a dial of a queue has taken
        self.sid = new_sid("CA")
        self.heard: list[str] = []  # what the caller heard since their last move
        # The language and voice of each item heard (empty for audio, pauses and beeps).
        self.accents: list[tuple[str, str]] = []
        self.notes: list[str] = []  # what Twilio did that the caller can't hear
        self.ended = False
        self.status = "ringing"
        self._wait: Wait | None = None
        # The URLs Twilio was given for the call (a call we place names its preset in them),
        # by default the flow's own; then the document being played.
        self._url = url or f"{transport.base_url}/voice/{flow}"
        self._status_callback = status_callback or f"{transport.base_url}/voice/{flow}/status"
        self._hops = 0

    @property
    def waiting(self) -> str:
        """What the call waits for, in words: `keys`, `speech`, `keys or speech`, ..."""
        if self._wait is None:
            return ""
        if self._wait.kind == "gather":
            listens = self._wait.verb.get("input", "dtmf").split()
            return " or ".join(("keys" if x == "dtmf" else x) for x in listens)
        if self._wait.kind == "queue":
            return "a staff member (on hold)"
        return "a recording" if self._wait.kind == "record" else "the dial to end"

    def _begin(self) -> None:
        self.heard, self.accents, self.notes, self._hops = [], [], [], 0

    def _expect(self, kind: str, move: str) -> Wait:
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
            **({"AnsweredBy": self.answered_by} if self.answered_by else {}),
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

    def _answer(self, wait: Wait, extra: Mapping[str, str]) -> list[str]:
        self._fetch(self._resolve(wait.verb.get("action", "")), extra)
        return list(self.heard)

    def _empty(self, wait: Wait) -> list[str]:
        if wait.kind == "gather" and wait.verb.get("actionOnEmptyResult") == "true":
            return self._answer(wait, {"Digits": ""})
        self._run(wait.rest)  # Twilio goes on with the verb after the wait
        return list(self.heard)

    def _enqueue(self, verb: ET.Element, rest: list[ET.Element]) -> None:
        def url(key: str) -> str:
            return self._resolve(verb.get(key, "")) if verb.get(key) else ""

        name = (verb.text or "").strip()
        self._hold = Holding(name, url("action"), url("waitUrl"), rest, self.board, self._taken)
        self.board.join(self._hold)
        self._wait = Wait("queue", verb, rest)
        self._on_hold(0)

    def _on_hold(self, until: int) -> None:
        assert self._hold is not None

        def post(url: str, extra: Mapping[str, str]) -> str:
            return self._post(url, self._fields(extra))

        how = self._hold.turns(until, post, self._hear, self.notes)
        if how == "leave":
            self._dequeue("leave")
        elif how == "hangup":
            self.board.leave(self._hold)
            self._hold = None
            self._end("completed")

    def _taken(self) -> None:
        self._begin()
        self._hear("[a staff member takes the call]")
        self._dequeue("bridged")

    def _dequeue(self, result: str) -> None:
        hold, self._hold = self._hold, None
        assert hold is not None
        self.board.leave(hold)
        if hold.action:
            self._fetch(hold.action, hold.leave_fields(result))
        else:
            self._run(hold.rest)

    def _run(self, verbs: list[ET.Element]) -> None:
        self._wait = None
        for i, verb in enumerate(verbs):
            rest = verbs[i + 1 :]
            if verb.tag in ("Say", "Play", "Pause"):
                self._prompt(verb)
            elif verb.tag == "Gather":
                for inner in verb:
                    self._prompt(inner)
                self._wait = Wait("gather", verb, rest)
                return
            elif verb.tag == "Record":
                if verb.get("playBeep", "true") != "false":
                    self._hear("[beep]")
                self._wait = Wait("record", verb, rest)
                return
            elif verb.tag == "Dial":
                self._dial(verb)
                self._wait = Wait("dial", verb, rest)
                return
            elif verb.tag == "Enqueue":
                self._enqueue(verb, rest)
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

    def _dial(self, verb: ET.Element) -> None:
        queue = verb.find("Queue")
        if queue is None:
            numbers = [n.text or "" for n in verb] or [verb.text or ""]
            self._hear(f"[ringing {', '.join(x.strip() for x in numbers)}]")
            return
        name = (queue.text or "").strip()
        # Twilio connects the first caller waiting; with none, the dial waits for one (or ends).
        self._bridged = self.board.first(name)
        taken = "connected to the next caller" if self._bridged else "waiting for a caller"
        self._hear(f"[{taken} in {name}]")

    def _hear(self, text: str, language: str = "", voice: str = "") -> None:
        self.heard.append(text)
        self.accents.append((language, voice))

    def _prompt(self, verb: ET.Element) -> None:
        text = " ".join((verb.text or "").split())
        if verb.tag == "Say":
            self._hear(text, verb.get("language", ""), verb.get("voice", ""))
        elif verb.tag == "Play":
            self._hear(f"[audio {text}]")
        elif verb.tag == "Pause":
            self._hear(f"[pause {verb.get('length', '1')} s]")

    def _end(self, status: str) -> None:
        self.ended, self._wait, self.status = True, None, status
        self._post_call(self._status_callback, {"CallStatus": status, "CallDuration": "60"})
