"""What a `fetch` asks another system, as the loader reads it, and the rules its parts follow.

The request itself is made by the web layer; here are only the parts of a flow that describe it
(`Fetch`), the dotted paths of `save`, and what makes a `url` one the engine can send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ivr.flow import templates

DEFAULT_TIMEOUT = 5
MAX_TIMEOUT = 10
METHODS = ("GET", "POST")
SCHEMES = ("http", "https")
# A path is keys and list indexes joined by dots: `next.doctor.name`, `items.0.name`.
_DOTTED = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
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
