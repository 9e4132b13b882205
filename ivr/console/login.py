"""Logging in and out of the console."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ivr.console.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Guard,
    changes,
    client_address,
    token_matches,
)
from ivr.console.auth import now as clock
from ivr.console.render import base, page, redirect


def _next(value: object) -> str:
    # Only a path inside the console: never a way to send someone elsewhere after logging in.
    text = value if isinstance(value, str) else ""
    return text if text.startswith("/") and not text.startswith("//") else "/flows"


def _form(request: Request, status: int = 200, error: str = "", next_: str = "") -> Response:
    guard: Guard = request.app.state.guard
    token = guard.new_token()
    response = page(
        request,
        "login.html",
        status=status,
        error=error,
        login_token=token,
        next=_next(next_ or request.query_params.get("next")),
    )
    guard.set_cookie(response, LOGIN_COOKIE, token, base(request) + "/login")
    return response


async def login_form(request: Request) -> Response:
    return _form(request)


async def login(request: Request) -> Response:
    guard: Guard = request.app.state.guard
    form = await request.form()
    next_ = _next(form.get("next"))
    expected = guard.unsign(request.cookies.get(LOGIN_COOKIE))
    if not token_matches(expected, form.get("csrf")):
        return _form(request, 403, "The form had expired. Please type the password again.", next_)
    address, at = client_address(request), clock()
    wait = guard.wait_seconds(address, at)
    if wait:
        return PlainTextResponse(
            f"Too many wrong passwords. Try again in {wait} seconds.",
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    password = form.get("password")
    if not isinstance(password, str) or not guard.password_ok(password):
        guard.failed(address, at)
        return _form(request, 401, "That is not the password.", next_)
    guard.succeeded(address)
    response = redirect(request, next_)
    guard.set_cookie(response, SESSION_COOKIE, guard.new_token(), base(request))
    response.delete_cookie(LOGIN_COOKIE, path=base(request) + "/login")
    return response


@changes
async def logout(request: Request) -> Response:
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path=base(request))
    return response


ROUTES = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
