"""Pages from templates, with what every page needs: where the console lives, the CSRF token."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from ivr.console.auth import Guard
from ivr.settings import Settings

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def base(request: Request) -> str:
    """The console's path as the browser sees it: behind the public URL's path, if it has one.

    A proxy that serves the app under a prefix (`https://example.org/ivr/`) strips the prefix
    before the request comes here, so the links must put it back.
    """
    settings: Settings = request.app.state.settings
    prefix = urlsplit(settings.public_url).path.rstrip("/")
    root = str(request.scope.get("root_path", ""))
    return root if root.startswith(prefix + "/") or not prefix else prefix + root


def redirect(request: Request, where: str) -> Response:
    return RedirectResponse(base(request) + where, status_code=303)


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    guard: Guard = request.app.state.guard
    context |= {
        "base": base(request),
        "csrf": guard.session_token(request) or "",
        "nav": request.url.path.removeprefix(str(request.scope.get("root_path", ""))),
    }
    return templates.TemplateResponse(request, template, context, status_code=status)


def when(at: float) -> str:
    """A moment as people in the office read it (the server's local time)."""
    if not at:
        return ""
    return dt.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")


def quoted(text: str) -> str:
    return quote(text, safe="")


templates.env.filters["when"] = when
templates.env.filters["quoted"] = quoted
