"""Checking that a webhook really comes from Twilio: `X-Twilio-Signature`.

The signature covers the URL Twilio called and the posted form. Behind a proxy or a tunnel that
URL is the public one, which the request itself can't tell us: it comes from the settings.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import FormData
from starlette.requests import Request
from twilio.request_validator import RequestValidator, get_signature_algorithm


class SignatureCheck:
    def __init__(self, auth_token: str, public_url: str = "", insecure: bool = False) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self.public_url = public_url.rstrip("/")
        self.insecure = insecure and not auth_token

    def url_for(self, request: Request) -> str:
        """The URL Twilio signed: the public base plus path and query, or the request's own."""
        if not self.public_url:
            return str(request.url)
        query = request.url.query
        return self.public_url + request.url.path + (f"?{query}" if query else "")

    def valid(self, request: Request, form: FormData) -> bool:
        if self.insecure:
            return True
        signature = request.headers.get("x-twilio-signature")
        if not signature or self._validator is None:
            return False
        algorithm = get_signature_algorithm(
            request.headers.get("x-twilio-webhooks-signature-settings")
        )
        url = self.url_for(request)
        try:
            expected = self._validator.compute_signature(url, form, algorithm)
        except ValueError:  # an algorithm this twilio package doesn't know
            return False
        # One HMAC settles a genuine request; `validate` also tries the URL with and without
        # its port, which Twilio signs either way, so a miss gets its full check.
        if hmac.compare_digest(str(expected).encode(), signature.encode("utf-8", "replace")):
            return True
        return bool(self._validator.validate(url, form, signature, algorithm))
