"""`ivr serve`: check the flows, then run the app on uvicorn."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn
from starlette.applications import Starlette

from ivr.settings import WORKER_VARIABLE, Settings
from ivr.web.app import FlowErrors, MissingToken, create_app, preflight


def app_factory() -> Starlette:
    """What each uvicorn worker runs: the app, from the settings `serve` handed down.

    `ivr serve` runs the console's factory instead, which adds the console to this app.
    """
    return create_app(Settings.from_json(os.environ[WORKER_VARIABLE]))


def serve(settings: Settings, factory: str = "ivr.web.server:app_factory") -> int:
    """Check the flows and the token, then run the workers; the exit status."""
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        preflight(settings)  # the flows and the token, before any worker starts
    except FlowErrors as exc:
        print(exc.report, file=sys.stderr)
        print(
            "The server did not start: fix the errors above, then start it again.", file=sys.stderr
        )
        return 1
    except MissingToken as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Workers are separate processes: they get the settings whole, through the environment.
    os.environ[WORKER_VARIABLE] = settings.to_json()
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0
