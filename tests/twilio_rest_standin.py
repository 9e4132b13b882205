"""A stand-in for Twilio's REST API on 127.0.0.1, over real HTTP, for the outbound tests.

It speaks the protocol the twilio client speaks: `POST /2010-04-01/Accounts/{sid}/Calls.json`
and `/Messages.json` with form-encoded bodies and HTTP Basic auth, answering JSON shaped like
Twilio's. Some numbers get Twilio's errors, as Twilio's own test credentials do.
"""

from __future__ import annotations

import base64
import email.utils
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "standin-auth-token"
API_KEY = "SK" + "b2" * 16
API_SECRET = "standin-api-secret"

# The numbers Twilio's test credentials refuse, with the same codes and words.
ERRORS: dict[str, tuple[int, int, str]] = {
    "+15005550001": (400, 21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (400, 21612, "The 'To' phone number is not currently reachable via SMS."),
    "+15005550003": (400, 21408, "Permission to send an SMS has not been enabled."),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550008": (
        400,
        21608,
        "The number is unverified. Trial accounts may only send messages to verified numbers.",
    ),
    "+15005550009": (400, 21614, "'To' number is not a valid mobile number"),
}
# A number for which the stand-in fails as a server would.
BROKEN = "+15005550500"
_PATH = re.compile(
    r"/2010-04-01/Accounts/(?P<account>AC\w+)/(?P<what>Calls|Messages)"
    r"(?:/(?P<sid>CA\w+))?\.json"
)


@dataclass
class Received:
    """One request as Twilio would have received it."""

    method: str
    path: str
    user: str
    form: dict[str, list[str]]

    def field(self, name: str) -> str:
        return self.form[name][0]


# What a test runs at the moment a new call is asked for (see `Standin.on_call`).
CallHook = Callable[[Received], None]


@dataclass
class Standin:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Called with each request for a new call, before it is answered: what a test wants to
    # know of the moment Twilio is asked (e.g. what the store holds then).
    on_call: CallHook | None = None

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def posts(self, what: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path.endswith(f"/{what}.json")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _error(status: int, code: int, message: str) -> tuple[int, dict[str, object]]:
    more = f"https://www.twilio.com/docs/errors/{code}"
    return status, {"code": code, "message": message, "more_info": more, "status": status}


def _resource(account: str, what: str, form: dict[str, list[str]]) -> dict[str, object]:
    first = {k: v[0] for k, v in form.items()}
    prefix = "CA" if what == "Calls" else "SM"
    sid = prefix + uuid.uuid4().hex
    now = email.utils.formatdate(usegmt=True)
    common: dict[str, object] = {
        "sid": sid,
        "account_sid": account,
        "to": first.get("To"),
        "from": first.get("From"),
        "status": "queued",
        "direction": "outbound-api",
        "date_created": now,
        "date_updated": now,
        "api_version": "2010-04-01",
        "price": None,
        "price_unit": "USD",
        "uri": f"/2010-04-01/Accounts/{account}/{what}/{sid}.json",
    }
    if what == "Messages":
        return {
            **common,
            "body": first.get("Body"),
            "num_segments": "1",
            "num_media": "0",
            "error_code": None,
            "error_message": None,
            "messaging_service_sid": None,
        }
    return {
        **common,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "duration": None,
        "answered_by": None,
        "caller_name": None,
    }


def _answer(standin: Standin, received: Received) -> tuple[int, dict[str, object]]:
    match = _PATH.fullmatch(received.path)
    if not match:
        return _error(404, 20404, "The requested resource was not found")
    account, what = match["account"], match["what"]
    if received.user not in (f"{ACCOUNT_SID}:{AUTH_TOKEN}", f"{API_KEY}:{API_SECRET}"):
        return _error(401, 20003, "Authenticate")
    if account != ACCOUNT_SID:
        return _error(404, 20404, f"The requested resource {received.path} was not found")
    if match["sid"]:  # an update of a call, e.g. to cancel it
        return 200, {"sid": match["sid"], "status": received.form.get("Status", [""])[0]}
    to = received.form.get("To", [""])[0]
    detection = received.form.get("MachineDetection")
    if (
        what == "Calls"
        and detection is not None
        and detection != ["Enable"]
        and detection != ["DetectMessageEnd"]
    ):
        return _error(400, 21234, "Invalid Machine Detection configuration value")
    if to in ERRORS:
        return _error(*ERRORS[to])
    if to == BROKEN:
        return _error(500, 20500, "Internal Server Error")
    return 201, _resource(account, what, received.form)


def start() -> Standin:
    """Start the stand-in on a free port; `close()` it when done."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            auth = self.headers.get("Authorization", "")
            user = ""
            if auth.startswith("Basic "):
                user = base64.b64decode(auth[6:]).decode()
            received = Received("POST", self.path, user, parse_qs(body, keep_blank_values=True))
            with standin.lock:
                standin.requests.append(received)
            if standin.on_call is not None and self.path.endswith("/Calls.json"):
                standin.on_call(received)
            status, payload = _answer(standin, received)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    standin = Standin(server)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return standin
