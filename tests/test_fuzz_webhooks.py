"""Thousands of signed webhooks, each broken at random, to every route: never a 5xx, and every
200 a well-formed TwiML document. Seeded, so a failure can be replayed; bounded in time."""

from __future__ import annotations

import asyncio
import random
import shutil
import string
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from conftest import ROOT, TOKEN, sign
from starlette.testclient import TestClient

from ivr.settings import Settings
from ivr.web.app import create_app

SEED = 17
WEBHOOKS = 3_200
AT_ONCE = 16  # webhooks in flight together
SECONDS = 240  # far more than it takes; a run that can't finish in it fails
BASE = "http://testserver"
KINDS = ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/xml", "")
CALLBACKS = ("gather", "record", "dial", "hold", "queue", "transcription", "status", "fetch")
FIELDS = (
    "CallSid", "MessageSid", "AccountSid", "From", "To", "Body", "Digits", "SpeechResult",
    "RecordingUrl", "RecordingDuration", "DialCallStatus", "CallStatus", "Direction",
    "TranscriptionText", "NumMedia", "MediaUrl0", "SmsSid", "QueuePosition", "QueueTime",
    "QueueResult", "AnsweredBy",
)  # fmt: skip
ODD = (
    "", " ", "0", "-1", "99999999999999999999", "1e309", "NaN", "#", "*", "1#*",
    "../../etc/passwd", "<Say>hi</Say>", "]]>", "&amp;", "\x00", "\ufeff", "😀" * 50,
    "STOP", "start", "HELP", "yes", "Y", "menu", "operator", "." * 5000, "a" * 20000,
    "completed", "no-answer", "outbound-api", "inbound", "http://127.0.0.1:1/x.wav",
    "%ff%fe", "\r\nX-Injected: 1", "{{ secret.X }}", "{% for x in y %}",
)  # fmt: skip


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    folder = tmp_path / "flows"
    folder.mkdir()
    for src in [*(ROOT / "flows").glob("*.yaml"), *(ROOT / "tests" / "flows").glob("*.yaml")]:
        if "fetch:" not in src.read_text():  # nothing may leave 127.0.0.1
            shutil.copy(src, folder / src.name)
    settings = Settings(
        flows_dir=str(folder), store=f"sqlite:///{tmp_path}/ivr.sqlite3", auth_token=TOKEN
    )
    with TestClient(create_app(settings, deliver=False), base_url=BASE) as c:
        yield c


def _value(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(ODD)
    alphabet = string.printable + "éß中😀\u202e\x7f"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def _form(rng: random.Random, sids: list[str]) -> dict[str, str]:
    sid = rng.choice(sids)
    form = {
        "CallSid": sid,
        "MessageSid": "SM" + sid[2:],
        "AccountSid": "AC" + "0" * 32,
        "From": rng.choice(["+15551230000", "+15551230001", ""]),
        "To": "+15559990000",
        "Body": rng.choice(["hi", "hours", "book", "1", "STOP", "START", "note"]),
        "Digits": rng.choice(["1", "2", "12", "12345", "0", "9", ""]),
        "CallStatus": rng.choice(["in-progress", "completed", "ringing"]),
        "Direction": "inbound",
    }
    for _ in range(rng.randint(0, 6)):
        roll = rng.random()
        name = rng.choice(FIELDS)
        if roll < 0.3:
            form.pop(name, None)
        elif roll < 0.9:
            form[name] = _value(rng)
        else:
            form[_value(rng) or "x"] = _value(rng)
    return form


def _path(rng: random.Random, flows: list[str]) -> str:
    odd = ["nope", "%2e%2e", "a b", "x" * 300]
    flow = rng.choice(flows) if rng.random() < 0.9 else rng.choice(odd)
    channel = rng.choice(["voice", "sms"])
    path = f"/{channel}/{flow}"
    if channel == "voice" and rng.random() < 0.7:
        path += "/" + rng.choice(CALLBACKS)
    if rng.random() < 0.6:
        path += "?seq=" + rng.choice(["0", "1", "2", "3", "-1", "x", "99999999999999999999", ""])
    return path


Request = tuple[str, dict[str, str], dict[str, str | bytes], dict[str, Any]]


def _request(rng: random.Random, flows: list[str], sids: list[str]) -> Request:
    """One webhook: its path, its form, its headers and how its body is sent."""
    path, form = _path(rng, flows), _form(rng, sids)
    headers: dict[str, str | bytes] = {"X-Twilio-Signature": sign(BASE + path, form)}
    how = rng.random()
    if how < 0.05:
        headers["X-Twilio-Signature"] = _value(rng).encode("utf-8", "replace")
    if how < 0.85:
        return path, form, headers, {"data": form}
    if how < 0.9:  # a file part among the signed fields: no webhook of Twilio's
        part = {rng.choice(FIELDS): ("x.wav", rng.randbytes(rng.randint(0, 64)), "audio/wav")}
        return path, form, headers, {"data": form, "files": part}
    # A body that is no proper form, still signed for the form it claims to be.
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode("utf-8", "surrogatepass")
    cut = body[: rng.randint(0, len(body))] + bytes(rng.randrange(256) for _ in range(8))
    headers["Content-Type"] = rng.choice(KINDS)
    return path, form, headers, {"content": cut}


def test_signed_webhooks_broken_at_random_never_get_a_5xx(client: TestClient) -> None:
    rng = random.Random(SEED)
    flows = client.get("/health").json()["flows"]
    sids = ["CA" + f"{n:032x}" for n in range(40)]  # few, so that calls go on across webhooks
    # The webhooks of a round are made in order from the seed (a failure names its own), then
    # sent at once, as Twilio does for the calls under way: the app answers them on its own
    # event loop, in the test client's lifespan, without a thread hop per request.
    rounds = [
        [_request(rng, flows, sids) for _ in range(AT_ONCE)] for _ in range(WEBHOOKS // AT_ONCE)
    ]

    async def send_all() -> Counter[int]:
        seen: Counter[int] = Counter()
        deadline = time.monotonic() + SECONDS
        transport = httpx2.ASGITransport(app=client.app)
        async with httpx2.AsyncClient(transport=transport, base_url=BASE) as http:
            for n, requests in enumerate(rounds):
                assert time.monotonic() < deadline, f"only {n * AT_ONCE} webhooks in {SECONDS} s"
                replies = await asyncio.gather(
                    *(
                        http.post(path, headers=headers, **body)
                        for path, _, headers, body in requests
                    )
                )
                for (path, form, _, _), r in zip(requests, replies, strict=True):
                    seen[r.status_code] += 1
                    assert r.status_code < 500, (n, path, form, r.status_code, r.text)
                    if r.status_code == 200:
                        root = ET.fromstring(r.text)  # well-formed, or this raises
                        assert root.tag == "Response", (n, path, r.text)
        return seen

    assert client.portal is not None
    seen = client.portal.call(send_all)
    assert sum(seen.values()) >= 3_000
    # The run reached the flows, not only the refusals.
    assert seen[200] > 1_000 and seen[403] > 0 and seen[404] > 0, seen
