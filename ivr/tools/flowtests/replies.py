"""Canned replies for the `fetch` states of a conversation test, instead of the real system.

A test file (or one test) gives a reply per state that fetches:

    replies:
      find_appointment: {status: 200, json: {next: {time: "Tuesday at 3 PM"}}}
      check_balance: timeout            # or `error`: the request never got a reply
      send_note: {status: 500}          # or {text: "<html>..."} for a reply that isn't JSON

The reply is read exactly as a real one would be (a status not 2xx, or no JSON where `save`
wants some, is a failed request), so the flow takes the path it would take in production.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.engine.fetching import FetchReply, Prepared, failed, read_reply, timed_out
from ivr.outbound.fetch import Sender

FORM = (
    "a reply is `timeout`, `error`, or a mapping like "
    "`{status: 200, json: {next: {time: noon}}}` (`status`, `json` and `text`, each optional)"
)


@dataclass(frozen=True)
class Canned:
    """One state's reply: `timeout`, `error`, or a status with a body."""

    kind: str  # "timeout", "error" or "reply"
    status: int = 200
    content: bytes = b""


def read_canned(value: Any) -> tuple[Canned | None, str]:
    """One state's reply as written in a test file, or what is wrong with it."""
    if value in ("timeout", "error"):
        return Canned(value), ""
    if not isinstance(value, dict) or not set(value) <= {"status", "json", "text"}:
        return None, FORM
    status = value.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return None, f"`status` is an HTTP status from 100 to 599, like 200 or 500; {FORM}"
    if "json" in value and "text" in value:
        return None, "give the reply's `json` or its `text`, not both"
    if "text" in value and not isinstance(value["text"], str):
        return None, "`text` is the reply's body as a string"
    content = value["text"].encode() if "text" in value else b""
    if "json" in value:
        content = json.dumps(value["json"]).encode()
    return Canned("reply", status, content), ""


def answer(canned: Canned, timeout: float, wants_json: bool) -> FetchReply:
    if canned.kind == "timeout":
        return timed_out(timeout)
    if canned.kind == "error":
        return failed("the request failed (the test's `error` reply)")
    return read_reply(canned.status, canned.content, wants_json=wants_json)


def canned_sender(replies: Mapping[str, Canned]) -> Sender:
    """A sender that answers each state's requests with the test's reply for it."""

    async def send(prepared: Prepared, timeout: float, wants_json: bool, state: str) -> FetchReply:
        canned = replies.get(state)
        if canned is None:
            return failed(f"the test gives no reply for state `{state}`: add it under `replies`")
        return answer(canned, timeout, wants_json)

    return send
