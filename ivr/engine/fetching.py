"""A `fetch` on paper: the request it sends, what its reply means, and the values it keeps.

All of it is pure, so the engine, the web layer and the conversation tests read a reply the same
way. Secrets are filled in only by `prepare`, into a request that is sent and dropped: nothing
here puts one in a session, the history or a log line (`Prepared.shown` masks them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ivr.flow import templates
from ivr.flow.fetch import Fetch, split_path

SECRET_ENV = "IVR_SECRET_"
MASK = "***"
MAX_REPLY = 1024 * 1024  # bytes of a reply read at most
MAX_VALUE = 4096  # characters kept of one saved value, the most a prompt can speak


@dataclass(frozen=True)
class Prepared:
    """A request ready to send. `shown` is its URL for log lines: no query, no secrets."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    json: dict[str, str] | None
    shown: str
    missing: tuple[str, ...] = ()  # secrets the server has no value for


@dataclass(frozen=True)
class FetchReply:
    """How a request went: `status` is `fetch_status` (`200`, `500`, `timeout`, `error`)."""

    status: str
    failed: bool
    data: Any = None  # the JSON reply, when there was one
    reason: str = ""  # why it failed, in words, for the log


def secrets_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """`IVR_SECRET_CLINIC_API=...` is the secret `CLINIC_API`."""
    return {k[len(SECRET_ENV) :]: v for k, v in env.items() if k.startswith(SECRET_ENV) and v}


def _in_url(value: str) -> str:
    # Every character but letters, digits, `-`, `_` and `~` is encoded, dots too: an answer
    # like `1&admin=1` or `../x` stays one value where it stands.
    return quote(value, safe="").replace(".", "%2E")


def _in_url_unless_masked(value: str) -> str:
    return value if value == MASK else _in_url(value)


def _in_header(value: str) -> str:
    return "".join(ch for ch in value if ch >= " " and ch != "\x7f")


def prepare(fetch: Fetch, variables: Mapping[str, str], secrets: Mapping[str, str]) -> Prepared:
    """The request `fetch` makes with these variables and the server's secrets."""
    wanted = {name for text in fetch.templates() for name in templates.secrets(text)}
    filled = {**variables, **{templates.SECRET + k: v for k, v in secrets.items() if k in wanted}}
    masked = {**variables, **{templates.SECRET + k: MASK for k in wanted}}
    url = templates.render(fetch.url, filled, escape=_in_url)
    parts = urlsplit(templates.render(fetch.url, masked, escape=_in_url_unless_masked))
    shown = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    headers = tuple((k, _in_header(templates.render(v, filled))) for k, v in fetch.headers)
    body = None
    if fetch.body is not None and fetch.method == "POST":
        body = {k: templates.render(v, filled) for k, v in fetch.body}
    missing = tuple(sorted(name for name in wanted if name not in secrets))
    return Prepared(fetch.method, url, headers, body, shown, missing)


def read_reply(
    status: int, content: bytes, *, wants_json: bool, too_big: bool = False
) -> FetchReply:
    """What a reply that came means: its status, and its JSON when it has one."""
    code = str(status)
    if too_big:
        return FetchReply(code, True, reason=f"the reply is over {MAX_REPLY // 1024 // 1024} MB")
    if 300 <= status < 400:
        return FetchReply(code, True, reason=f"HTTP {status}: redirects are not followed")
    if not 200 <= status < 300:
        return FetchReply(code, True, reason=f"HTTP {status}")
    try:
        data = json.loads(content) if content.strip() else None
    except (ValueError, UnicodeDecodeError):
        data = None
        if wants_json:
            return FetchReply(code, True, reason="the reply is not JSON")
    if data is None and wants_json:
        return FetchReply(code, True, reason="the reply is empty, not JSON")
    return FetchReply(code, False, data)


def timed_out(seconds: float) -> FetchReply:
    return FetchReply("timeout", True, reason=f"no reply within {seconds:g} s")


def failed(reason: str) -> FetchReply:
    return FetchReply("error", True, reason=reason)


def extract(data: Any, path: str) -> str:
    """The value at the dotted `path` of `data`, as text; empty where there is none."""
    found = data
    for key in split_path(path):
        if isinstance(found, dict) and key in found:
            found = found[key]
        elif isinstance(found, list) and key.isdigit() and int(key) < len(found):
            found = found[int(key)]
        else:
            return ""
    if isinstance(found, bool):
        return "true" if found else "false"
    if isinstance(found, int | float | str):
        return str(found)[:MAX_VALUE]
    return ""  # null, and objects and lists, which have no words to say


def kept(fetch: Fetch, reply: FetchReply) -> dict[str, str]:
    """The variables a reply sets: `fetch_status` and each of `save`, empty when it failed."""
    values = {"fetch_status": reply.status}
    for name, path in fetch.save:
        values[name] = "" if reply.failed else extract(reply.data, path)
    return values
