"""What the outbound tests share: a flow that uses variables, settings, and signed webhooks."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx2
import pytest
import twilio_rest_standin as rest
from conftest import Twiml, sign
from starlette.testclient import TestClient

from ivr.settings import Settings
from ivr.web.app import create_app

PUBLIC = "https://ivr.example.com"
OURS = "+15557654321"  # the Twilio number we call and text from
PERSON = "+15551234567"

REMINDER = """\
description: Visit reminder, called or texted out
vars:
  name: there
  day: your booked day
states:
  hello:
    say: Hello {{ name }}, this is Acme Plumbing about your visit on {{ day }}. Press 1 or
      reply YES to confirm, 2 or NO to cancel.
    choices:
      "1, yes": confirmed
      "2, no": cancelled
  confirmed:
    say: Thanks {{ name }}, see you on {{ day }}.
  cancelled:
    say: No problem {{ name }}, we will call you to find another day.
"""


def write_flows(root: Path, **extra: str) -> Path:
    flows = root / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "reminder.yaml").write_text(REMINDER)
    for name, text in extra.items():
        (flows / f"{name}.yaml").write_text(text)
    return flows


def twilio_env(standin: rest.Standin, store: str, public: str = PUBLIC) -> dict[str, str]:
    """The environment `ivr call` / `ivr text` run with against the stand-in."""
    return {
        "TWILIO_ACCOUNT_SID": rest.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": rest.AUTH_TOKEN,
        "TWILIO_API_BASE": standin.base,
        "IVR_PUBLIC_URL": public,
        "IVR_STORE": store,
    }


def use_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith(("TWILIO_", "IVR_")):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def app_settings(
    flows: Path, store: str, standin: rest.Standin | None = None, **extra: str
) -> Settings:
    values: dict[str, str] = {
        "flows_dir": str(flows),
        "store": store,
        "public_url": PUBLIC,
        "auth_token": rest.AUTH_TOKEN,
        "account_sid": rest.ACCOUNT_SID,
    }
    if standin is not None:
        values["api_base"] = standin.base
    return Settings(**{**values, **extra})  # type: ignore[arg-type]


def app_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), base_url="http://testserver")


def post_webhook(
    client: TestClient | httpx2.Client,
    base: str,
    path: str,
    form: dict[str, str],
    public: str = PUBLIC,
) -> str:
    """POST a form signed as Twilio signs it (over the public URL); the TwiML answer."""
    signature = sign(public + path, form, rest.AUTH_TOKEN)
    response = client.post(base + path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    return response.text


def answered(sid: str, person: str = PERSON, ours: str = OURS) -> dict[str, str]:
    """The form Twilio posts when a call we placed is answered: From is our number."""
    return {
        "CallSid": sid,
        "AccountSid": rest.ACCOUNT_SID,
        "From": ours,
        "To": person,
        "Direction": "outbound-api",
        "CallStatus": "in-progress",
    }


def pressed(sid: str, digits: str) -> dict[str, str]:
    return {**answered(sid), "Digits": digits}


def texted(body: str, person: str = PERSON, ours: str = OURS) -> dict[str, str]:
    return {
        "MessageSid": "SM" + os.urandom(16).hex(),
        "AccountSid": rest.ACCOUNT_SID,
        "From": person,
        "To": ours,
        "Body": body,
        "NumMedia": "0",
    }


def said(twiml: str) -> str:
    return Twiml(200, twiml).said()


def gather_action(twiml: str) -> str:
    gather = Twiml(200, twiml).find("Gather")
    assert gather is not None, twiml
    return gather.get("action") or ""


def messages(twiml: str) -> list[str]:
    return Twiml(200, twiml).messages()


def start_one(
    command: str, flows: Path, flow: str, to: str, from_: str, variables: list[str]
) -> int:
    """`ivr call` or `ivr text` for one number, as the command line runs it."""
    from ivr.outbound.commands import outbound

    return outbound(
        command,
        flow,
        to=to,
        from_=from_,
        variables=variables,
        csv_path=None,
        rate=1.0,
        results=None,
        flows_dir=str(flows),
        store=None,
    )


def call_form_sent(token: str, to: str = PERSON, flow: str = "reminder") -> dict[str, list[str]]:
    """The form Twilio's Calls endpoint must receive for a call from OURS with `flow`."""
    return {
        "To": [to],
        "From": [OURS],
        "Url": [f"{PUBLIC}/voice/{flow}?call={token}"],
        "Method": ["POST"],
        "StatusCallback": [f"{PUBLIC}/voice/{flow}/status?call={token}"],
        "StatusCallbackEvent": ["completed"],
        "StatusCallbackMethod": ["POST"],
    }


def token_of(request: rest.Received) -> str:
    """The token of the preset a call's URL names: random, long, safe in a URL."""
    _, _, query = request.field("Url").partition("?")
    name, _, token = query.partition("=")
    assert name == "call" and re.fullmatch(r"[A-Za-z0-9_-]{24,}", token), request.field("Url")
    return token


def call_path(request: rest.Received, public: str = PUBLIC) -> str:
    """Where Twilio posts when the call is answered (path and query), and its status callback."""
    assert request.field("Url").startswith(public), request.field("Url")
    return request.field("Url").removeprefix(public)


def status_path(request: rest.Received, public: str = PUBLIC) -> str:
    return request.field("StatusCallback").removeprefix(public)
