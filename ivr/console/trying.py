"""Try a flow from the browser: a phone (or a text chat) against the real app in-process.

Like `ivr simulate`, each try runs the app on a memory store of its own with the phone of
`ivr.tools.phone` playing Twilio, so a try never shows up in the office's history. The page is
plain forms (every key is a button that posts); its script only reads the prompts aloud.
A try lives in the worker that started it, for an hour at most.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ivr.console.auth import changes
from ivr.console.flows import services
from ivr.console.render import page, quoted, redirect
from ivr.flow.model import Flow
from ivr.tools.phone import Call, PhoneError, Texting
from ivr.tools.simulate import Sandbox
from ivr.tools.wire import DEFAULT_CALLED, DEFAULT_CALLER

KEEP_SECONDS = 3600.0
MOST_TRIES = 50  # per worker; the oldest goes first


@dataclass
class Turn:
    who: str  # caller | line | note
    text: str
    latest: bool = False  # said after the last move: the page reads these aloud


@dataclass
class Try:
    flow: Flow
    sandbox: Sandbox
    line: Call | Texting
    started: float = field(default_factory=time.monotonic)
    turns: list[Turn] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def heard(self, said: str, heard: list[str], notes: list[str]) -> None:
        for turn in self.turns:
            turn.latest = False
        if said:
            self.turns.append(Turn("caller", said))
        self.turns += [Turn("line", text, latest=True) for text in heard]
        self.turns += [Turn("note", text) for text in notes]


class Tries:
    """The tries going on in this worker."""

    def __init__(self) -> None:
        self._tries: dict[str, Try] = {}
        self._lock = threading.Lock()

    def add(self, found: Try) -> str:
        ident = secrets.token_urlsafe(12)
        with self._lock:
            cutoff = time.monotonic() - KEEP_SECONDS
            gone = [k for k, t in self._tries.items() if t.started < cutoff]
            while len(self._tries) - len(gone) >= MOST_TRIES:
                gone.append(min(self._tries, key=lambda k: self._tries[k].started))
            for key in set(gone):
                self._tries.pop(key).sandbox.close()
            self._tries[ident] = found
        return ident

    def get(self, ident: str) -> Try | None:
        with self._lock:
            return self._tries.get(ident)


def _start(flow: Flow, channel: str, known: Mapping[str, str]) -> Try:
    # A `fetch` asks the real system, with the server's secrets, as the live line would.
    sandbox = Sandbox({flow.name: flow}, secrets=known)
    if channel == "sms":
        return Try(flow, sandbox, sandbox.texting(flow.name, DEFAULT_CALLER, DEFAULT_CALLED))
    call = sandbox.call(flow.name, DEFAULT_CALLER, DEFAULT_CALLED)
    found = Try(flow, sandbox, call)
    found.heard("", call.start(), call.notes)
    return found


def _move(found: Try, move: str, value: str) -> None:
    """One move of the caller (or one text), and what came back."""
    line = found.line
    with found.lock:
        try:
            if isinstance(line, Texting):
                found.heard(value, line.send(value) or ["(no reply)"], [])
                return
            said = {"keys": f"pressed {value}", "say": f"said “{value}”"}.get(move, move)
            if move == "keys":
                heard = line.press(value)
            elif move == "say":
                heard = line.say(value)
            elif move == "silence":
                heard = line.silence()
            elif move == "record":
                heard = line.record(5, value)
                said = f"left a message: “{value}”" if value else "left a message"
            elif move == "dial":
                heard = line.dial(value)
                said = f"the dialled phone: {value}"
            else:
                heard, said = line.hangup(), "hung up"
            found.heard(said, heard, line.notes)
        except PhoneError as exc:
            found.heard("", [], [str(exc)])


def _flow(request: Request) -> Flow:
    name = request.path_params["flow"]
    flow = services(request).registry.current(name)
    if flow is None:
        raise HTTPException(404, f"There is no flow called {name}.")
    return flow


async def try_page(request: Request) -> Response:
    flow = _flow(request)
    ident = request.query_params.get("line", "")
    found = request.app.state.tries.get(ident) if ident else None
    session = found.sandbox.session(found.line) if found else None
    return page(
        request,
        "try.html",
        flow=flow,
        ident=ident if found else "",
        t=found,
        call=found.line if found and isinstance(found.line, Call) else None,
        session=session,
        language=flow.language or "en-US",
        expired=bool(ident) and found is None,
    )


@changes
async def try_start(request: Request) -> Response:
    flow = _flow(request)
    form = await request.form()
    channel = "sms" if form.get("channel") == "sms" else "voice"
    known = request.app.state.settings.secrets
    found = await run_in_threadpool(_start, flow, channel, known)
    ident = request.app.state.tries.add(found)
    return redirect(request, f"/try/{quoted(flow.name)}?line={ident}#now")


@changes
async def try_move(request: Request) -> Response:
    flow = _flow(request)
    form = await request.form()
    ident = str(form.get("line") or "")
    found = request.app.state.tries.get(ident)
    if found is None:
        return redirect(request, f"/try/{quoted(flow.name)}?line={ident}")
    move = str(form.get("move") or "")
    value = str(form.get("value") or form.get("typed") or "").strip()
    await run_in_threadpool(_move, found, move, value)
    return redirect(request, f"/try/{quoted(flow.name)}?line={ident}#now")


ROUTES = [
    Route("/try/{flow}", try_page, methods=["GET"]),
    Route("/try/{flow}/start", try_start, methods=["POST"]),
    Route("/try/{flow}/move", try_move, methods=["POST"]),
]
