"""Posting to the webhooks the way Twilio does: the transports, the signature, the TwiML.

A phone (see `ivr.phone`) talks to the server through a `Transport`: in-process through a test
client of the app, or over HTTP to a server that is running. Every post is signed with
`X-Twilio-Signature` over the full URL, exactly as Twilio signs it, so the server's signature
check runs as it would in production. A text is one post, so `Texting` lives here too.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Protocol
from urllib.parse import urlsplit

import httpx2
from starlette.types import ASGIApp
from twilio.request_validator import RequestValidator

DEFAULT_CALLER = "+15005550006"
DEFAULT_CALLED = "+15005550001"


class PhoneError(Exception):
    """The server answered something Twilio would refuse (an error status, or not TwiML)."""


class WrongMove(PhoneError):
    """The move doesn't fit what the call waits for (keys while dialing, anything once ended)."""


class Transport(Protocol):
    base_url: str  # the URL Twilio is set up to call, e.g. http://127.0.0.1:8000

    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]: ...


class ClientTransport:
    """Posts through an HTTP client: a test client of the app in-process, or a live server."""

    def __init__(self, client: httpx2.Client, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        response = self.client.post(self.base_url + path, data=dict(form), headers=dict(headers))
        return response.status_code, response.text

    def close(self) -> None:
        self.client.close()


def app_transport(app: ASGIApp, *, raise_server_exceptions: bool = True) -> ClientTransport:
    """Reach the ASGI app in-process, as if it were served at http://testserver."""
    from starlette.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
    return ClientTransport(client, "http://testserver")


def http_transport(base_url: str, timeout: float = 10.0) -> ClientTransport:
    """Reach a server that is running, e.g. `ivr serve` at http://127.0.0.1:8000."""
    return ClientTransport(httpx2.Client(timeout=timeout), base_url)


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class Line:
    """What calls and texts share: the account, the numbers, and signed posts."""

    def __init__(
        self, transport: Transport, flow: str, token: str, caller: str, called: str
    ) -> None:
        self.transport = transport
        self.flow = flow
        self.caller = caller
        self.called = called
        self.account = new_sid("AC")
        self._validator = RequestValidator(token)

    def _post(self, url: str, form: Mapping[str, str]) -> str:
        """POST `form` to the absolute `url` as Twilio would, signed; the answer's body."""
        signature = self._validator.compute_signature(url, dict(form))
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        status, body = self.transport.post(path, form, {"X-Twilio-Signature": signature})
        if status >= 400:
            raise PhoneError(f"POST {path} was answered with HTTP {status}: {body.strip()[:200]}")
        return body


def parse_twiml(body: str) -> ET.Element:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise PhoneError(f"the answer is not TwiML ({exc}): {body.strip()[:200]}") from None
    if root.tag != "Response":
        raise PhoneError(f"the answer is not TwiML: its root is <{root.tag}>, not <Response>")
    return root


class Texting(Line):
    """Texts from `sender` to `number`, the flow's number: `send(text)` returns the replies."""

    def __init__(
        self,
        transport: Transport,
        flow: str,
        sender: str = DEFAULT_CALLER,
        number: str = DEFAULT_CALLED,
        *,
        token: str,
    ) -> None:
        super().__init__(transport, flow, token, sender, number)
        self.replies: list[str] = []

    @property
    def lookup(self) -> str:
        """The server's key for this conversation: the pair of numbers."""
        return f"sms:{self.called}:{self.caller}"

    def send(self, body: str, media: Sequence[str] = ()) -> list[str]:
        sid = new_sid("SM")
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": self.account,
            "From": self.caller,
            "To": self.called,
            "Body": body,
            "NumMedia": str(len(media)),
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        for i, url in enumerate(media):
            form |= {f"MediaUrl{i}": url, f"MediaContentType{i}": "image/jpeg"}
        root = parse_twiml(self._post(f"{self.transport.base_url}/sms/{self.flow}", form))
        self.replies = []
        for message in root.iter("Message"):
            body_tag = message.find("Body")
            text = body_tag.text if body_tag is not None else message.text
            self.replies.append((text or "").strip())
        return list(self.replies)
