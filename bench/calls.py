"""The benchmark's calls: the webhooks Twilio would send for each, signed, and written out as
the files wrk replays (bench/calls.lua), one per wrk thread."""

from __future__ import annotations

import math
import multiprocessing
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

TOKEN = "bench-auth-token-0123456789abcdef"
FLOW = "bench_menu"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Webhook:
    path: str
    form: dict[str, str]
    status: int  # what a correct server answers


def call_form(sid: str, n: int) -> dict[str, str]:
    """What Twilio posts for a call: the same fields, so the same parsing work."""
    caller = f"+1555{n % 10_000_000:07d}"
    ours = "+15559990000"
    place = {"City": "SPRINGFIELD", "State": "IL", "Zip": "62701", "Country": "US"}
    form = {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": caller,
        "Caller": caller,
        "To": ours,
        "Called": ours,
        "CallToken": "%7B%22parentCallInfoToken%22%3A%22" + uuid.uuid4().hex,
    }
    for who in ("From", "Caller", "To", "Called"):
        for key, value in place.items():
            form[who + key] = value
    return form


def digits(n: int) -> tuple[str, str]:
    """The two keys call `n` presses: every department and topic gets its share."""
    return "123"[n % 3], "12"[(n // 3) % 2]


DEPARTMENTS = {"1": "sales", "2": "support", "3": "billing"}


def call(style: str, sid: str, n: int) -> list[Webhook]:
    """The four webhooks of one call: answer, press, press, status callback."""
    first, second = digits(n)
    form = call_form(sid, n)
    gather = {"msg": "Gather End", "FinishedOnKey": ""}
    done = {**form, "CallStatus": "completed", "CallDuration": "21", "Duration": "1"}
    done.update({"CallbackSource": "call-progress-events", "SequenceNumber": "0"})
    if style == "ivr":
        paths = [
            f"/voice/{FLOW}",
            f"/voice/{FLOW}/gather?seq=1",
            f"/voice/{FLOW}/gather?seq=2",
            f"/voice/{FLOW}/status",
        ]
    else:  # the hand-written app's routes
        paths = ["/ivr/welcome", "/ivr/menu", f"/ivr/menu/{DEPARTMENTS[first]}", "/ivr/status"]
    return [
        Webhook(paths[0], form, 200),
        Webhook(paths[1], {**form, **gather, "Digits": first}, 200),
        Webhook(paths[2], {**form, **gather, "Digits": second}, 200),
        Webhook(paths[3], done, 204),
    ]


def raw_request(port: int, hook: Webhook, validator: RequestValidator) -> bytes:
    """The request as Twilio sends it, signed for the exact URL it is sent to."""
    url = f"http://{HOST}:{port}{hook.path}"
    body = urlencode(hook.form).encode()
    head = (
        f"POST {hook.path} HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        "User-Agent: TwilioProxy/1.1\r\n"
        "Accept: */*\r\n"
        "Cache-Control: max-age=259200\r\n"
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        f"I-Twilio-Idempotency-Token: {uuid.uuid4()}\r\n"
        f"X-Twilio-Signature: {validator.compute_signature(url, hook.form)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass(frozen=True)
class Slice:
    """One wrk thread's file: calls `first`, `first + step`, ... of a data set."""

    path: Path
    style: str
    port: int
    prefix: str
    first: int
    step: int
    calls: int


def sid_of(prefix: str, n: int) -> str:
    return f"CA{prefix}{n:0{32 - len(prefix)}x}"


def write_slice(s: Slice) -> int:
    validator = RequestValidator(TOKEN)
    with s.path.open("wb") as out:
        for k in range(s.calls):
            n = s.first + k * s.step
            for hook in call(s.style, sid_of(s.prefix, n), n):
                raw = raw_request(s.port, hook, validator)
                out.write(f"{len(raw)} {hook.status}\n".encode() + raw)
    return s.calls


def write_dataset(
    folder: Path, style: str, port: int, prefix: str, calls: int, threads: int
) -> Path:
    """`calls` calls split over `threads` files, one per wrk thread, in parallel."""
    folder.mkdir(parents=True)
    per_thread = math.ceil(calls / threads)
    slices = [
        Slice(folder / f"{t}.req", style, port, prefix, t, threads, per_thread)
        for t in range(threads)
    ]
    with multiprocessing.Pool(os.cpu_count() or 1) as pool:
        pool.map(write_slice, slices)
    return folder
