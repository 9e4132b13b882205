"""Who may use the console: one password, a signed session cookie, CSRF tokens, slow guessing.

The cookie carries only a random CSRF token, signed with a key derived from the password: every
worker and host with the same password accepts it, and changing the password logs everyone out.
Every form that changes something posts the token back; a post without it changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

log = logging.getLogger("ivr.console")

SESSION_COOKIE = "ivr_console"
LOGIN_COOKIE = "ivr_console_login"  # the login form's own CSRF token, before any session
SESSION_SECONDS = 12 * 3600
FAILURES_ALLOWED = 5  # wrong passwords from one address ...
FAILURE_WINDOW = 300.0  # ... within this many seconds; then it must wait

Handler = Callable[[Request], Awaitable[Response]]


class Guard:
    def __init__(self, password: str, secure: bool) -> None:
        self._password = password.encode()
        key = hmac.new(self._password, b"ivr console session", hashlib.sha256).hexdigest()
        self._signer = URLSafeTimedSerializer(key, salt="ivr-console")
        self.secure = secure
        self._failures: dict[str, deque[float]] = {}

    # -- the password and its rate limit ---------------------------------------------------
    def password_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._password)

    def wait_seconds(self, address: str, now: float) -> int:
        """How long `address` must wait before trying another password (0: it may now)."""
        failures = self._failures.get(address)
        if not failures:
            return 0
        while failures and failures[0] <= now - FAILURE_WINDOW:
            failures.popleft()
        if len(failures) < FAILURES_ALLOWED:
            return 0
        return int(failures[0] + FAILURE_WINDOW - now) + 1

    def failed(self, address: str, now: float) -> None:
        self._failures.setdefault(address, deque()).append(now)
        log.warning("console: a wrong password from %s", address)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    # -- cookies ---------------------------------------------------------------------------
    def new_token(self) -> str:
        return secrets.token_urlsafe(24)

    def sign(self, token: str) -> str:
        return self._signer.dumps(token)

    def unsign(self, value: str | None, max_age: int = SESSION_SECONDS) -> str | None:
        if not value:
            return None
        try:
            token = self._signer.loads(value, max_age=max_age)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def session_token(self, request: Request) -> str | None:
        """The CSRF token of the logged-in session, or None when not logged in."""
        return self.unsign(request.cookies.get(SESSION_COOKIE))

    def set_cookie(self, response: Response, name: str, token: str, path: str) -> None:
        response.set_cookie(
            name,
            self.sign(token),
            max_age=SESSION_SECONDS,
            path=path,
            secure=self.secure,
            httponly=True,
            samesite="strict" if name == LOGIN_COOKIE else "lax",
        )


def token_matches(expected: str | None, given: object) -> bool:
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def changes(handler: Handler) -> Handler:
    """For a POST handler: refuse it (403, nothing changed) unless it carries the CSRF token."""

    async def checked(request: Request) -> Response:
        guard: Guard = request.app.state.guard
        given = request.headers.get("x-csrf-token") or (await request.form()).get("csrf")
        if not token_matches(guard.session_token(request), given):
            log.warning(
                "console: a %s to %s without a valid form token was refused",
                request.method,
                request.url.path,
            )
            return PlainTextResponse(
                "This form has expired or did not come from the console. Nothing was changed: "
                "go back, reload the page and try again.",
                status_code=403,
            )
        return await handler(request)

    return checked


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def now() -> float:
    return time.time()
