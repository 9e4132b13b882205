"""Webhook forms read the way Starlette reads them, whichever path a body takes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from conftest import Twilio, call_form, sign
from starlette.datastructures import Headers
from starlette.formparsers import FormParser
from starlette.testclient import TestClient

from ivr.web.forms import IndexedForm, plain_fields

TRICKY = [
    b"a=1",
    b"a=1&b=2&a=3",
    b"a=&=b&c=d=e",
    b"a=%C3%A9+%2B&b=caf\xc3\xa9&c=%zz&d=%",
    b"From=%2B15551230000&To=%2B15559990000&Body=hello+there%21",
    b"a=1;b=2",
    b"\xff=\xfe",
]
NOT_PLAIN = [b"a", b"a=1&", b"&a=1", b"a=1&&b=2", b"a=1&b", b"", b"x=1&" * 1001]


async def starlette(body: bytes) -> list[tuple[str, str]]:
    async def chunks() -> AsyncIterator[bytes]:
        # A few bytes at a time, as from a network.
        for start in range(0, len(body), 3):
            yield body[start : start + 3]

    headers = Headers({"content-type": "application/x-www-form-urlencoded"})
    form = await FormParser(headers, chunks()).parse()
    return [(name, str(value)) for name, value in form.multi_items()]


@pytest.mark.parametrize("body", TRICKY)
def test_plain_bodies_read_as_starlette_reads_them(body: bytes) -> None:
    assert plain_fields(body) == asyncio.run(starlette(body))


def test_every_short_body_of_tricky_bytes_reads_the_same_or_is_left_to_starlette() -> None:
    alphabet = [b"a", b"=", b"&", b"%2", b"0", b"+", b"\xc3\xa9"]

    async def check_all() -> int:  # one event loop for all of them: a loop each is slow
        checked = 0
        for size in range(1, 6):
            for parts in itertools.product(alphabet, repeat=size):
                body = b"".join(parts)
                fields = plain_fields(body)
                if fields is not None:
                    assert fields == await starlette(body), body
                    checked += 1
        return checked

    assert asyncio.run(check_all()) > 1000


@pytest.mark.parametrize("body", NOT_PLAIN)
def test_other_bodies_are_left_to_starlette(body: bytes) -> None:
    assert plain_fields(body) is None


def test_an_indexed_form_answers_like_a_form() -> None:
    form = IndexedForm([("a", "1"), ("b", "2"), ("a", "3")])
    assert form.getlist("a") == form.getall("a") == ["1", "3"]
    assert form.getlist("missing") == []
    assert form["a"] == "3" and form.get("b") == "2"
    assert list(form.multi_items()) == [("a", "1"), ("b", "2"), ("a", "3")]


@pytest.mark.parametrize(
    "suffix, content_type",
    [
        (b"", "application/x-www-form-urlencoded"),
        (b"&", "application/x-www-form-urlencoded"),  # not plain: Starlette reads it
        (b"", "Application/X-WWW-Form-Urlencoded; charset=utf-8"),
    ],
)
def test_a_signed_webhook_is_read_on_either_path(
    app_twilio: Twilio, suffix: bytes, content_type: str
) -> None:
    form = call_form("CA" + "f" * 32)
    url = "http://testserver/voice/menu"
    assert isinstance(app_twilio.client, TestClient)
    reply = app_twilio.client.post(
        url,
        content=urlencode(form).encode() + suffix,
        headers={"Content-Type": content_type, "X-Twilio-Signature": sign(url, form)},
    )
    assert reply.status_code == 200, reply.text
    assert "<Gather" in reply.text
