"""Talking to Twilio's REST API for outbound calls and texts, and explaining its refusals.

Everything that can go wrong here becomes a `Refused`: one line a person can act on, and a
short code for the HTTP API. No Twilio exception or traceback reaches a user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.settings import Settings

if TYPE_CHECKING:
    # Twilio's REST client brings `requests` and its own HTTP stack: imported when a client is
    # made, so that `ivr serve` without outbound credentials (and every test server) starts
    # without them.
    from twilio.rest import Client

TIMEOUT = 30.0  # seconds; Twilio answers in well under a second when it is up
DOCS = "https://www.twilio.com/docs/errors/{code}"

# What Twilio's most common refusals mean, in words that say what to do.
EXPLAINED: dict[int, str] = {
    20003: "authentication failed: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
    "(or TWILIO_API_KEY and TWILIO_API_SECRET)",
    20404: "the account or resource was not found: check TWILIO_ACCOUNT_SID",
    21211: "the 'To' number is not a valid phone number",
    21212: "the 'From' number is not a valid phone number or caller ID",
    21214: "the 'To' number can't be reached",
    21215: "the account has no permission to call this country (Geo Permissions)",
    21219: "the 'To' number is not verified; a trial account can only call verified numbers",
    21408: "the account has no permission to text this region (Geo Permissions)",
    21606: "the 'From' number can't send texts from this account",
    21608: "the 'To' number is not verified; a trial account can only reach verified numbers",
    21610: "the recipient replied STOP and has unsubscribed from this number",
    21612: "Twilio can't route a text between these two numbers",
    21614: "the 'To' number is not a mobile number and can't receive texts",
    21617: "the message is too long",
}
# Refusals caused by the recipient rather than by our configuration.
RECIPIENT_CODES = {21211, 21214, 21219, 21608, 21610, 21612, 21614}


class Refused(Exception):
    """Nothing was sent, or Twilio refused: `message` is the line to show."""

    def __init__(
        self, message: str, code: str, status: int = 400, twilio_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code  # a short name for the HTTP API, e.g. "invalid_number"
        self.status = status  # the HTTP status the API answers with
        self.twilio_code = twilio_code


def missing_credentials(settings: Settings) -> list[str]:
    """What is missing to reach Twilio's REST API, each in one line; empty when nothing is."""
    missing = []
    if not settings.account_sid:
        missing.append(
            "TWILIO_ACCOUNT_SID is not set: set it to your account's SID (AC...) to reach Twilio."
        )
    if settings.api_key or settings.api_secret:
        if not (settings.api_key and settings.api_secret):
            missing.append("set both TWILIO_API_KEY and TWILIO_API_SECRET, or neither.")
    elif not settings.auth_token:
        missing.append(
            "no Twilio credentials: set TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and "
            "TWILIO_API_SECRET)."
        )
    return missing


def make_client(settings: Settings) -> Client:
    """A REST client from the settings; refuses when credentials are missing."""
    missing = missing_credentials(settings)
    if missing:
        raise Refused(missing[0], "no_credentials", 502)
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    from ivr.outbound.rest_http import BaseUrlHttpClient

    if settings.api_key:
        user, password = settings.api_key, settings.api_secret
    else:
        user, password = settings.account_sid, settings.auth_token
    http = (
        BaseUrlHttpClient(settings.api_base, TIMEOUT)
        if settings.api_base
        else TwilioHttpClient(timeout=TIMEOUT)
    )
    return Client(user, password, account_sid=settings.account_sid, http_client=http)


def create_call(
    client: Client,
    to: str,
    from_: str,
    url: str,
    status_callback: str,
    *,
    detect_machine: bool = False,
) -> str:
    """Ask Twilio to call `to`; the new call's SID.

    With `detect_machine`, Twilio waits for a machine's greeting to end (DetectMessageEnd)
    before it asks `url`, and says in AnsweredBy who or what picked up.
    """
    detection = {"machine_detection": "DetectMessageEnd"} if detect_machine else {}
    try:
        call = client.calls.create(
            to=to,
            from_=from_,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_event=["completed"],
            status_callback_method="POST",
            **detection,
        )
    except Exception as exc:
        raise explain(exc, "call", to) from exc
    return str(call.sid)


def send_message(client: Client, to: str, from_: str, body: str) -> str:
    """Text `body` to `to`; the message's SID."""
    try:
        message = client.messages.create(to=to, from_=from_, body=body)
    except Exception as exc:
        raise explain(exc, "text", to) from exc
    return str(message.sid)


def explain(exc: Exception, what: str, to: str) -> Refused:
    """One clear line for anything the REST call raised."""
    import requests  # loaded already by the client that raised

    if isinstance(exc, TwilioRestException):
        code = exc.code if isinstance(exc.code, int) else None
        text = EXPLAINED.get(code or 0) or _message(str(exc.msg))
        return _refused(what, to, exc.status, code, text)
    if isinstance(exc, TwilioException) and hasattr(exc, "title"):  # RFC 9457 answers
        code = getattr(exc, "code", None)
        detail = getattr(exc, "detail", None) or exc.title
        text = EXPLAINED.get(code or 0) or str(detail)
        return _refused(what, to, int(getattr(exc, "status", 502)), code, text)
    if isinstance(exc, requests.Timeout):
        return Refused(
            f"Twilio did not answer in {TIMEOUT:.0f} seconds; the {what} to {to} "
            "may or may not have been made",
            "twilio_timeout",
            502,
        )
    if isinstance(exc, requests.RequestException):
        reason = type(exc).__name__
        return Refused(
            f"can't reach Twilio to make the {what} to {to} ({reason}): check the "
            "network connection and TWILIO_API_BASE",
            "twilio_unreachable",
            502,
        )
    return Refused(f"the {what} to {to} failed: {exc}", "twilio_error", 502)


def _refused(what: str, to: str, status: int, code: int | None, text: str) -> Refused:
    where = f": {code} — {text} ({DOCS.format(code=code)})" if code else f": {text}"
    verb = "refused" if status < 500 else "failed to take"  # a 5xx is Twilio's own trouble
    message = f"Twilio {verb} the {what} to {to}{where}"
    if code == 21610:
        return Refused(message, "opted_out", 422, code)
    http = 400 if code in RECIPIENT_CODES else 502
    return Refused(message, "twilio_refused" if status < 500 else "twilio_error", http, code)


def _message(raw: str) -> str:
    # The client prefixes what Twilio said with its own words; keep only Twilio's.
    for prefix in ("Unable to create record: ", "Unable to update record: "):
        raw = raw.removeprefix(prefix)
    return raw.strip() or "no reason given"
