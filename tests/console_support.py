"""What the console's tests share: a small flow, calls that leave traffic, a recording server,
and the system's Chromium driven by Playwright."""

from __future__ import annotations

import io
import math
import os
import struct
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import ROOT, Twilio, call_form
from system_packages import installed

PASSWORD = "correct horse battery staple"


def chromium() -> str:
    """The browser to drive: IVR_CHROMIUM, or Debian's Chromium headless shell, installed when
    missing."""
    # The headless shell is Chromium's engine (Blink, V8, its network stack) without the desktop
    # browser around it, and what Playwright itself runs for headless tests. Each page and each
    # context costs it about half the CPU the whole browser spends in headless mode, or less.
    given = os.environ.get("IVR_CHROMIUM")
    return given or installed(
        "chromium-headless-shell", "chromium-headless-shell", "the console's browser tests"
    )


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
# Pictures of the pages are for a person to look at, so they are taken only when asked for: a
# whole-page picture costs the browser about as much as loading the page.
WANTED = os.environ.get("IVR_SCREENSHOTS", "") not in ("", "0")
SCREENSHOTS = ROOT / "screenshots" / "console" if WANTED else None

DESK = """\
description: A small front desk for the console's tests
language: en-US
states:
  menu:
    say: For our hours press 1. To leave a message press 2.
    choices:
      "1, hours": hours
      "2, message": voicemail
  hours:
    say: We are open nine to five.
  voicemail:
    say: Leave your message after the tone.
    record: {max_length: 60, transcribe: true}
    next: thanks
  thanks:
    say: Thank you, goodbye.
"""


def write_desk(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "desk.yaml").write_text(DESK)
    return folder


def tone() -> bytes:
    """One second of a 440 Hz tone, as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                for i in range(8000)
            )
        )
    return out.getvalue()


@contextmanager
def recordings() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that serves any recording URL as a WAV: Twilio's media."""
    body = tone()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "audio/x-wav")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def status(twilio: Twilio, sid: str, call_status: str = "completed") -> None:
    twilio.post("/voice/desk/status", call_form(sid, CallStatus=call_status))


def call_hours(twilio: Twilio, sid: str) -> None:
    """A caller asks for the hours: the flow finishes."""
    reply = twilio.post("/voice/desk", call_form(sid))
    twilio.follow(reply, "Gather", call_form(sid, Digits="1"))
    status(twilio, sid)


def call_hang_up(twilio: Twilio, sid: str) -> None:
    """A caller hangs up at the menu."""
    twilio.post("/voice/desk", call_form(sid))
    status(twilio, sid)


def call_voicemail(twilio: Twilio, sid: str, media: str, words: str) -> None:
    """A caller leaves a voicemail, which Twilio then transcribes."""
    reply = twilio.post("/voice/desk", call_form(sid))
    reply = twilio.follow(reply, "Gather", call_form(sid, Digits="2"))
    record = reply.find("Record")
    assert record is not None, reply.text
    url = f"{media}/2010-04-01/Accounts/AC0/Recordings/RE{sid[2:]}"
    fields = {"RecordingUrl": url, "RecordingSid": "RE" + sid[2:], "RecordingDuration": "1"}
    twilio.follow(reply, "Record", call_form(sid, **fields))
    callback = record.get("transcribeCallback")
    assert callback
    twilio.post(
        callback,
        call_form(sid, TranscriptionText=words, TranscriptionStatus="completed", RecordingUrl=url),
    )
    status(twilio, sid)
