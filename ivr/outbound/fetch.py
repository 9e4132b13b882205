"""Sending a `fetch` to another system over HTTP, on the event loop, never for too long.

Whatever the other system does (answers slowly, hangs, sends gigabytes, redirects in a loop),
`send` is back within the request's timeout with a `FetchReply`: the whole exchange runs under
one deadline, redirects are not followed, and no more than `MAX_REPLY` bytes are read.

It goes through httpx2's transport rather than its client: the client logs every URL it asks,
query string and all, and a query may hold a secret.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ivr.engine.fetching import MAX_REPLY, FetchReply, Prepared, failed, read_reply, timed_out
from ivr.flow.fetch import SCHEMES

if TYPE_CHECKING:
    import httpx2

# What sends a prepared request: the real one below, or a test's canned replies. The state's
# name comes along so that canned replies can be given per state.
Sender = Callable[[Prepared, float, bool, str], Awaitable[FetchReply]]
USER_AGENT = "ivr (+fetch)"


@cache
def _tls() -> ssl.SSLContext:
    import httpx2

    # Loading the certificate store takes a while: once per process, not per request.
    return httpx2.create_ssl_context()


async def send(prepared: Prepared, timeout: float, wants_json: bool, state: str = "") -> FetchReply:
    """Make the request; a failure of any kind is a `FetchReply`, never an exception."""
    if prepared.missing:
        names = ", ".join(f"IVR_SECRET_{name}" for name in prepared.missing)
        return failed(f"the server has no secret {names}: set it in the environment")
    if urlsplit(prepared.url).scheme not in SCHEMES:
        return failed("only http and https URLs are fetched")
    # httpx2 is imported by the first fetch, not by every server that starts: most flows
    # fetch nothing.
    import httpx2

    try:
        async with asyncio.timeout(timeout):
            return await _exchange(prepared, timeout, wants_json)
    except (TimeoutError, httpx2.TimeoutException):
        return timed_out(timeout)
    except (httpx2.HTTPError, httpx2.InvalidURL, OSError, ValueError) as exc:
        # The exception's text may quote the URL, and so a secret: name its kind only.
        return failed(f"the request failed ({_kind(exc)})")


def _kind(exc: Exception) -> str:
    import httpx2

    if isinstance(exc, httpx2.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx2.InvalidURL):
        return "not a valid URL"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return "the other side broke the HTTP protocol"
    return type(exc).__name__


async def _exchange(prepared: Prepared, timeout: float, wants_json: bool) -> FetchReply:
    import httpx2

    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    # Asked for as it is: a compressed reply could unpack to far more than it weighs.
    headers["Accept-Encoding"] = "identity"
    headers.update(dict(prepared.headers))
    request = httpx2.Request(
        prepared.method,
        prepared.url,
        headers=headers,
        json=prepared.json,
        extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout)},
    )
    transport = httpx2.AsyncHTTPTransport(verify=_tls(), trust_env=False)
    try:
        response = await transport.handle_async_request(request)
        try:
            content, too_big = await _read(response)
        finally:
            await response.aclose()
    finally:
        await transport.aclose()
    return read_reply(response.status_code, content, wants_json=wants_json, too_big=too_big)


async def _read(response: httpx2.Response) -> tuple[bytes, bool]:
    """The reply's body, unpacked, and whether it went over `MAX_REPLY` (then cut off)."""
    if 300 <= response.status_code < 400:
        return b"", False  # not followed, and not read
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REPLY:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REPLY:
            return b"", True
    raw = b"".join(chunks)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw, False
    if encoding not in ("gzip", "deflate"):
        return b"", False  # unreadable: it is no JSON
    unpack = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, by its header
    try:
        content = unpack.decompress(raw, MAX_REPLY + 1)
    except zlib.error:
        return b"", False
    return (b"", True) if len(content) > MAX_REPLY else (content, False)
