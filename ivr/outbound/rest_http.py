"""The HTTP client under Twilio's REST client, pointed at another base URL when asked to.

Its own module so that Twilio's HTTP stack (and `requests`) is imported only when a REST client
is made: see `ivr.outbound.rest.make_client`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from twilio.http.http_client import TwilioHttpClient


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Sends every request for `*.twilio.com` to another base URL (a stand-in, a proxy)."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            url = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, url, *args, **kwargs)
