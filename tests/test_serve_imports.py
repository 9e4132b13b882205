"""What `ivr serve` imports by the time it answers: Twilio's REST client (and `requests` under
it) only once a client is made, with outbound credentials; the console (its pages, Jinja2) only
when it is on; httpx2 only at the first `fetch`, aiosmtplib at the first email; jsonschema only
to explain a flow's mistake; no WebSocket library. A server without them, every test server
among them, starts without them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, TOKEN, copy_flows, free_port

NOT_AT_START = (
    "requests",
    "twilio.rest",
    "ivr.console",
    "jinja2",
    "httpx2",
    "aiosmtplib",
    "websockets",
    "jsonschema",
)

# The real `ivr serve`, in this process: once /health answers, what it has imported is printed
# and the process ends. The asking is done with the standard library's http.client, which
# imports none of the modules looked for.
LOOK = """
import http.client, os, sys, threading, time
port = int(sys.argv[2])

def look():
    while True:
        try:
            ask = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            ask.request("GET", "/health")
            if ask.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.05)
    names = sys.argv[3].split()
    print(" ".join(n for n in names if any(m == n or m.startswith(n + ".") for m in sys.modules)))
    sys.stdout.flush()
    os._exit(0)

threading.Thread(target=look, daemon=True).start()
from ivr.cli import main
main(["serve", sys.argv[1], "--port", str(port), "--store", "memory://"])
"""


def imported_at_start(tmp_path: Path, env: dict[str, str]) -> set[str]:
    flows = copy_flows(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", LOOK, str(flows), str(free_port()), " ".join(NOT_AT_START)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, **env},
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_server_imports_none_of_what_it_may_never_use(tmp_path: Path) -> None:
    env = {"IVR_CONSOLE_PASSWORD": "", "IVR_SMTP_URL": "", "TWILIO_ACCOUNT_SID": ""}
    assert imported_at_start(tmp_path, env) == set()


def test_the_console_is_loaded_when_it_is_on(tmp_path: Path) -> None:
    # The same look can fail: with a password the console and its templates are there.
    env = {"IVR_CONSOLE_PASSWORD": "a console password", "TWILIO_ACCOUNT_SID": ""}
    assert {"ivr.console", "jinja2"} <= imported_at_start(tmp_path, env)
