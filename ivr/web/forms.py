"""Reading a webhook's form, and refusing it unless Twilio signed it."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_plus

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ivr.web.signature import SignatureCheck

log = logging.getLogger("ivr.webhooks")


class IndexedForm(FormData):
    """A posted form that finds the values of a field at once.

    The signature check asks for the values of every field, once for each form of the URL, and
    `FormData` looks through all the fields each time: with the thirty-odd fields of a Twilio
    webhook, that was a good part of the cost of a webhook.
    """

    def __init__(self, items: list[tuple[str, str | UploadFile]], files: bool = False) -> None:
        super().__init__(items)
        index: dict[str, list[str | UploadFile]] = {}
        for name, value in items:
            index.setdefault(name, []).append(value)
        self._index = index
        self.files = files  # whether a part is a file (only a multipart body has any)

    def getlist(self, key: Any) -> list[Any]:
        return list(self._index.get(key, ()))

    # The name twilio's RequestValidator tries first (a miss costs it an exception per field).
    getall = getlist


# Starlette's limits on a urlencoded form: a body within them can't go over them.
MAX_FIELDS = 1000
MAX_PLAIN_BODY = 1024 * 1024


def plain_fields(body: bytes) -> list[tuple[str, str | UploadFile]] | None:
    """The fields of a urlencoded body of `name=value` parts joined by `&`, else None.

    That is every body Twilio posts, and reading it so takes a fraction of the time of
    Starlette's general parser, which goes through it byte by byte with callbacks. Names and
    values are decoded as it decodes them; any other body (a part without `=`, an empty part,
    too many fields) is left to Starlette, so that every form reads as it always did.
    """
    parts = body.decode("latin-1").split("&")
    if len(parts) > MAX_FIELDS:
        return None
    fields: list[tuple[str, str | UploadFile]] = []
    for part in parts:
        name, equals, value = part.partition("=")
        if not equals:
            return None
        # Most names and values have nothing to decode: unquoting them would give them back.
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        fields.append((name, value))
    return fields


async def read_form(request: Request) -> IndexedForm:
    # Stricter than Starlette's reading of the header, never looser: what this takes for a
    # urlencoded form, Starlette would too.
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip(" \t").lower()
    size = request.headers.get("content-length", "")
    # Only a body of a known, bounded size is read whole; any other streams through Starlette.
    small = size.isdigit() and 0 < int(size) <= MAX_PLAIN_BODY
    if kind == "application/x-www-form-urlencoded" and small:
        fields = plain_fields(await request.body())
        if fields is not None:
            return IndexedForm(fields)
    items = (await request.form()).multi_items()
    return IndexedForm(items, any(not isinstance(value, str) for _, value in items))


async def signed_form(request: Request, signatures: SignatureCheck) -> FormData:
    """The posted form, if Twilio signed it: 400 for a body that doesn't parse, else 403."""
    try:
        form = await read_form(request)
    except Exception as exc:  # multipart and encoding errors have no common base class
        raise HTTPException(400, "The request body is not a form.") from exc
    # Twilio posts text fields only: a file part is no webhook of Twilio's, and the signature
    # check can't read it.
    if form.files:
        await form.close()
        log.warning("refused %s: a form with a file part", request.url.path)
        raise HTTPException(403, "Invalid or missing Twilio signature.")
    if not signatures.valid(request, form):
        # The URL checked is what a wrong IVR_PUBLIC_URL (or a proxy's rewrite) gets wrong.
        log.warning(
            "refused %s: %s X-Twilio-Signature, checked against the URL %s",
            request.url.path,
            "wrong" if request.headers.get("x-twilio-signature") else "missing",
            signatures.url_for(request),
        )
        raise HTTPException(403, "Invalid or missing Twilio signature.")
    return form
