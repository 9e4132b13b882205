"""What a `fetch` asks another system, as the loader reads it, and the rules its parts follow.

The request itself is made by the web layer; here are only the parts of a flow that describe it
(`Fetch`), the dotted paths of `save`, and what makes a `url` one the engine can send.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from ivr.flow import templates

DEFAULT_TIMEOUT = 5
MAX_TIMEOUT = 10
METHODS = ("GET", "POST")
SCHEMES = ("http", "https")
# A path is keys and list indexes joined by dots: `next.doctor.name`, `items.0.name`.
_DOTTED = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_HEADER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
# What stands for a template while the URL around it is checked: a value that is valid anywhere.
_PLACEHOLDER = "x"


@dataclass(frozen=True)
class Fetch:
    """A request to another system: every string here may be a template."""

    url: str
    method: Literal["GET", "POST"] = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: tuple[tuple[str, str], ...] | None = None  # sent as a JSON object of strings
    timeout: float = DEFAULT_TIMEOUT
    save: tuple[tuple[str, str], ...] = ()  # (variable, dotted path in the JSON reply)

    def templates(self) -> list[str]:
        """Every text of the request that may hold a template (and so a secret)."""
        found = [self.url, *(value for _, value in self.headers)]
        return found + [value for _, value in self.body or ()]


def is_dotted(path: str) -> bool:
    return bool(_DOTTED.fullmatch(path))


def split_path(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def url_problem(url: str) -> str | None:
    """What keeps `url` from being sent, in words; None when it can be."""
    bare = templates.render(url, {}, escape=lambda _: _PLACEHOLDER)
    try:
        parts = urlsplit(bare)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError as exc:
        return f"`{url}` is not a URL ({exc})"
    if parts.scheme not in SCHEMES:
        return f"`{url}` must start with `https://` or `http://`"
    if not parts.hostname:
        return f"`{url}` has no host name after `{parts.scheme}://`"
    if any(ch.isspace() for ch in bare):
        return f"`{url}` has a space in it: write it as `%20`"
    head = url.split("//", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    if "{{" in head:
        # A value there would choose the server the request goes to.
        return f"`{url}`: a template can't be in the host name, only in the path or the query"
    return None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _pairs(raw: object) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), _text(v)) for k, v in raw.items()) if isinstance(raw, dict) else ()


def from_yaml(raw: dict[str, Any]) -> Fetch:
    """The `Fetch` of a state's `fetch` mapping that passed the schema and the checks."""
    return Fetch(
        url=str(raw["url"]),
        method="POST" if raw.get("method") == "POST" else "GET",
        headers=_pairs(raw.get("headers")),
        body=_pairs(raw["body"]) if isinstance(raw.get("body"), dict) else None,
        timeout=float(raw.get("timeout", DEFAULT_TIMEOUT)),
        save=_pairs(raw.get("save")),
    )


def texts(raw: object) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every text of a `fetch` mapping a template can be in, with its path under `fetch`."""
    if not isinstance(raw, dict):
        return
    if isinstance(raw.get("url"), str):
        yield ("url",), raw["url"]
    for part in ("headers", "body"):
        values = raw.get(part)
        for key, value in values.items() if isinstance(values, dict) else ():
            if isinstance(value, str):
                yield (part, str(key)), value


# A problem of a state's `fetch`: its path under the state, its level and its message.
Finding = tuple[tuple[str, ...], Literal["error", "warning"], str]


def findings(name: str, raw: object) -> list[Finding]:
    """What is wrong with the `fetch` of state `name`, beyond what the schema says."""
    if not isinstance(raw, dict):
        return []
    found: list[Finding] = []
    timeout = raw.get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > MAX_TIMEOUT:
        message = (
            f"the `fetch` of state `{name}` waits {timeout:g} seconds: at most {MAX_TIMEOUT}, "
            "as Twilio hangs up on a call that waits 15 seconds for the engine"
        )
        found.append((("fetch", "timeout"), "error", message))
    url = raw.get("url")
    problem = url_problem(url) if isinstance(url, str) else None
    if problem:
        found.append((("fetch", "url"), "error", f"{problem} (`fetch` of state `{name}`)"))
    headers = raw.get("headers")
    for header in headers if isinstance(headers, dict) else ():
        if not _HEADER.fullmatch(str(header)):
            message = (
                f"`{header}` in `headers` of state `{name}` is not a header name: use letters, "
                "digits and `-`, like `Authorization` or `X-Api-Key`"
            )
            found.append((("fetch", "headers", str(header)), "error", message))
    save = raw.get("save")
    for variable, path in save.items() if isinstance(save, dict) else ():
        if isinstance(path, str) and not is_dotted(path):
            message = (
                f"`{path}` in `save` of state `{name}` is not a dotted path: write keys and list "
                "indexes joined by dots, like `next.time` or `items.0.name`; it keeps nothing"
            )
            found.append((("fetch", "save", str(variable)), "warning", message))
    return found
