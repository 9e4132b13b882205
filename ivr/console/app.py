"""The console as an ASGI app of its own, mounted at `/console` of the web app.

It is mounted only when `IVR_CONSOLE_PASSWORD` is set: without it `/console` is a plain 404.
Every page but the login form and the static files needs a login; without one, a browser is
sent to the login form and comes back where it was going afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ivr.console import conversations, flows, login, messages, optouts, switches, trying
from ivr.console.auth import Guard
from ivr.console.render import HERE, base
from ivr.flow.model import Flow
from ivr.settings import Settings
from ivr.web.app import create_app
from ivr.web.server import worker_settings

log = logging.getLogger("ivr.console")
OPEN_PATHS = ("/login", "/static/")


class LoginRequired:
    """Send a request without a valid session to the login form (pages) or refuse it (403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path.removeprefix(str(scope.get("root_path", "")))
        guard: Guard = scope["app"].state.guard
        if path.startswith(OPEN_PATHS) or guard.session_token(request):
            await self.app(scope, receive, send)
            return
        target = base(request) + "/login"
        if request.method == "GET" and path not in ("", "/"):
            target += "?next=" + quote(
                path + (f"?{request.url.query}" if request.url.query else "")
            )
        await RedirectResponse(target, status_code=303)(scope, receive, send)


async def failed(request: Request, exc: Exception) -> Response:
    """Something broke: a plain page for the person, the whole story in the log."""
    log.error("console: %s %s failed", request.method, request.url.path, exc_info=exc)
    return PlainTextResponse(
        "Something went wrong on this page; it has been logged. Go back and try again.",
        status_code=500,
    )


async def home(request: Request) -> RedirectResponse:
    return RedirectResponse(base(request) + "/flows", status_code=303)


def console_app(web: Starlette, settings: Settings) -> Starlette:
    """The console for the web app `web`, whose services (store, flows) it shows."""
    routes = [
        Route("/", home, methods=["GET"]),
        *login.ROUTES,
        *flows.ROUTES,
        *conversations.ROUTES,
        *messages.ROUTES,
        *optouts.ROUTES,
        *switches.ROUTES,
        *trying.ROUTES,
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={500: failed})
    app.add_middleware(LoginRequired)
    app.state.guard = Guard(settings.console_password, settings.public_url.startswith("https:"))
    app.state.settings = settings
    app.state.web = web  # its services are looked up per request: they may start later
    app.state.tries = trying.Tries()
    return app


def mount_console(web: Starlette, settings: Settings) -> Starlette:
    """Add the console at `/console` when a password is set; `web` unchanged otherwise."""
    if settings.console_password:
        web.router.routes.append(Mount("/console", app=console_app(web, settings)))
    return web


def app_factory(flows: Mapping[str, Flow] | None = None) -> Starlette:
    """What each `ivr serve` worker runs when the console is on: the web app, with it."""
    settings = worker_settings()
    return mount_console(create_app(settings, flows=flows), settings)
