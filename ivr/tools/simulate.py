"""`ivr simulate`: call or text a flow in the terminal, with the real app in-process.

The app runs on a memory store with a random auth token, and the phone of `ivr.phone` plays
Twilio's side of it, signatures and all: what a flow does here is what it does on a real line.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sys
import time
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from secrets import token_hex
from typing import TextIO

from ivr.engine.clock import Clock, utc_now
from ivr.engine.fetching import secrets_from_env
from ivr.engine.session import Session
from ivr.flow.model import Flow
from ivr.flow.names import RESERVED
from ivr.flow.switching import switch_setting
from ivr.outbound.fetch import Sender, send
from ivr.outbound.start import call_urls, save_preset
from ivr.settings import Settings
from ivr.store import Store
from ivr.store.base import SwitchChange
from ivr.tools.check import load_one
from ivr.tools.phone import Call, PhoneError, Switchboard, Texting, WrongMove, app_transport
from ivr.tools.sent import News
from ivr.web.app import create_app
from ivr.web.webhook import Services

MOVES = (
    "keys like 1 or 1234#, silence, say WORDS, record [SECONDS] [WORDS], "
    "dial answered|busy|no-answer|failed, hold SECONDS, take, hangup"
)
# The engine sets these in every conversation: showing them would only repeat the numbers.
QUIET_VARS = frozenset(RESERVED) - {"answered_by"}
_AT = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?")


def local_time(text: str, flow: Flow | None) -> dt.datetime | None:
    """`2026-12-01 10:00` as a moment: in the timezone of the flow's first `hours` (else UTC)
    unless it carries its own offset; None if it isn't a time."""
    if not _AT.match(text):
        return None
    try:
        at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:  # the flow's opening hours are the natural clock to write in
        zones = [h.timezone for h in flow.hours.values()] if flow else []
        at = at.replace(tzinfo=zoneinfo.ZoneInfo(zones[0]) if zones else dt.UTC)
    return at


def _running_from(at: dt.datetime) -> Clock:
    began = time.monotonic()
    return lambda: at + dt.timedelta(seconds=time.monotonic() - began)


class Sandbox:
    """The real app in-process on a memory store, reached through the phone.

    `at` sets the clock the flows see (for opening hours); it runs on from there. A `fetch`
    is sent by `fetcher` (by default over HTTP) with the server's `secrets`.
    """

    def __init__(
        self,
        flows: Mapping[str, Flow],
        at: dt.datetime | None = None,
        *,
        fetcher: Sender = send,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        self.token = token_hex(16)
        settings = Settings(
            flows_dir="", store="memory://", auth_token=self.token, secrets=dict(secrets or {})
        )
        clock = utc_now if at is None else _running_from(at)
        self.app = create_app(settings, flows=flows, deliver=False, clock=clock, fetcher=fetcher)
        self.services: Services = self.app.state.services
        self.store: Store = self.services.store
        self.transport = app_transport(self.app, raise_server_exceptions=False)
        self.board = Switchboard()  # Twilio's queues, shared by the calls made here

    def call(
        self, flow: str, caller: str, called: str, variables: Mapping[str, str] | None = None,
        *, answered_by: str = "",
    ) -> Call:  # fmt: skip
        """A call to `flow`; with `variables` or `answered_by`, a call the flow places, as
        `ivr call` does (`answered_by`: with machine detection, Twilio's AnsweredBy)."""
        outbound = bool(variables) or bool(answered_by)
        url = status = ""
        found = self.services.registry.current(flow)
        if variables and found is not None:
            # As `ivr call --var` does: the variables are kept before the call rings, and its
            # URLs name them.
            ttl = self.services.settings.voice_session_ttl
            token = save_preset(self.store, found, caller, called, variables, ttl)
            url, status = call_urls(self.transport.base_url, flow, token)
        return Call(self.transport, flow, caller, called, token=self.token, outbound=outbound,
                    answered_by=answered_by, board=self.board, url=url,
                    status_callback=status)  # fmt: skip

    def texting(self, flow: str, caller: str, called: str) -> Texting:
        return Texting(self.transport, flow, caller, called, token=self.token)

    def session(self, line: Call | Texting) -> Session | None:
        """The conversation as the server keeps it: the live one, else the latest ended."""
        lookup = line.sid if isinstance(line, Call) else line.lookup
        live = self.store.load(lookup)
        if live is not None:
            return live
        for past in self.store.history(flow=line.flow, last=10_000):  # newest first
            if past.key == lookup or past.key.startswith(lookup + ":"):
                return past
        return None

    def close(self) -> None:
        self.transport.close()
        self.store.close()


class _OneLine(logging.Formatter):
    # The server's own log lines, shown as notes between the turns, never as tracebacks.
    def format(self, record: logging.LogRecord) -> str:
        return f"  ({record.levelname.lower()}: {record.getMessage()})"


def _moves(stream: TextIO) -> Iterator[str]:
    """The caller's moves, one a line; echoed when they come from a pipe, so output reads."""
    if stream.isatty():
        while True:
            try:
                yield input("> ")
            except EOFError:
                print()
                return
    for line in stream:
        print(f"> {line.rstrip()}")
        yield line.rstrip("\r\n")


def _play(call: Call, move: str) -> bool:
    """Make one move on the call; False when it isn't a move at all."""
    word, _, rest = move.strip().partition(" ")
    rest = rest.strip()
    if word and all(k in "0123456789*#" for k in word) and not rest:
        call.press(word)
    elif word == "silence" and not rest:
        call.silence()
    elif word == "say" and rest:
        call.say(rest)
    elif word == "record":
        seconds, _, words = rest.partition(" ")
        if seconds and not seconds.isdigit():
            seconds, words = "", rest
        call.record(int(seconds or 5), words.strip())
    elif word == "dial" and rest:
        call.dial(rest)
    elif word == "hold" and rest.isdigit():
        call.hold(int(rest))
    elif word == "take" and not rest:
        call.take()
    elif word == "hangup" and not rest:
        call.hangup()
    else:
        return False
    return True


class _Screen:
    """What the terminal shows after each turn: what was heard, the state, what changed."""

    def __init__(self, sandbox: Sandbox, flow: Flow) -> None:
        self.sandbox = sandbox
        self.shown: dict[str, str] = {}
        # A flow of several languages shows the language and voice of every prompt; any other
        # only those said in another than its own.
        self.usual = None if len(flow.languages) > 1 else (flow.language or "", flow.voice or "")
        self.news = News(sandbox.store)

    def accent(self, line: Call | Texting, index: int) -> str:
        accents = line.accents if isinstance(line, Call) else []
        if index >= len(accents) or accents[index] in (("", ""), self.usual):
            return ""
        return "   [" + ", ".join(part for part in accents[index] if part) + "]"

    def turn(self, line: Call | Texting, heard: list[str], notes: list[str]) -> None:
        for index, text in enumerate(heard):
            print(f"  {text}{self.accent(line, index)}")
        if isinstance(line, Texting) and not heard:
            print("  (no reply)")
        for note in notes:
            print(f"  ({note})")
        for news in self.news.lines():
            print(f"  ({news})")
        session = self.sandbox.session(line)
        if session is None:
            return
        for name, value in session.vars.items():
            if name not in QUIET_VARS and self.shown.get(name) != value:
                print(f"  ({name} = {value!r})")
        self.shown = dict(session.vars)
        if session.ended:
            again = "; the next text starts afresh" if isinstance(line, Texting) else ""
            print(f"[{session.state}] the conversation has ended ({session.outcome}){again}")
        elif isinstance(line, Call):
            print(f"[{session.state}] waiting for {line.waiting}")
        else:
            print(f"[{session.state}] waiting for a text")


def _call(sandbox: Sandbox, flow: Flow, caller: str, called: str, moves: Iterator[str]) -> int:
    print(f"Calling {flow.name} from {caller} to {called}. Moves: {MOVES}.")
    call = sandbox.call(flow.name, caller, called)
    screen = _Screen(sandbox, flow)
    call.start()
    screen.turn(call, call.heard, call.notes)
    while not call.ended:
        move = next(moves, None)
        if move is None:
            break
        try:
            played = _play(call, move)
        except WrongMove as exc:
            print(f"  ({exc})")
            continue
        if not played:
            if move.strip():
                print(f"  (not a move: {move.strip()!r}; try {MOVES})")
            continue
        screen.turn(call, call.heard, call.notes)
    if not call.ended:
        print("  (end of input: the caller hangs up)")
        call.hangup()
    return 0


def _text(sandbox: Sandbox, flow: Flow, caller: str, called: str, moves: Iterator[str]) -> int:
    print(f"Texting {flow.name} from {caller} to {called}. Each line is a text.")
    texting = sandbox.texting(flow.name, caller, called)
    screen = _Screen(sandbox, flow)
    for move in moves:
        if move.strip():
            screen.turn(texting, texting.send(move), [])
    return 0


def simulate(
    flow: str,
    *,
    flows_dir: str,
    sms: bool,
    caller: str,
    called: str,
    at: str | None = None,
    switches: Sequence[str] = (),
) -> int:
    """Run `flow` in the terminal: moves (or texts) from standard input, one a line.

    `at` sets the clock the flow sees, e.g. "2026-12-01 10:00" in its hours' timezone;
    `switches` turn switches before it starts, e.g. "closed_today=on".
    """
    try:
        turned = [switch_setting(given) for given in switches]
    except ValueError as exc:
        print(f"error: --switch {exc}", file=sys.stderr)
        return 1
    flows = load_one(flows_dir, flow)
    if flows is None:
        return 1
    moment = local_time(at, flows[flow]) if at else None
    if at and moment is None:
        print(f'error: --at {at!r} is not a time like "2026-12-01 10:00"', file=sys.stderr)
        return 1
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_OneLine())
    logger = logging.getLogger("ivr")
    logger.addHandler(handler)
    # The requests of `fetch` states are real, with the secrets of this environment.
    sandbox = Sandbox(flows, at=moment, secrets=secrets_from_env(os.environ))
    for name, on in turned:
        sandbox.store.set_switch(SwitchChange(name, on, 0.0, "simulate"))
    try:
        run = _text if sms else _call
        return run(sandbox, flows[flow], caller, called, _moves(sys.stdin))
    except PhoneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)
        sandbox.close()
