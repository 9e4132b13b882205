"""`ivr serve`: check the flows, then run the app on uvicorn."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn
from starlette.applications import Starlette

from ivr.settings import Settings
from ivr.web.app import FlowErrors, MissingToken, create_app, preflight


def app_factory() -> Starlette:
    """What each uvicorn worker runs: the app, from the environment `serve` prepared."""
    return create_app(Settings.from_env())


def serve(
    *,
    flows_dir: str | None = None,
    host: str | None = None,
    port: int | None = None,
    store: str | None = None,
    public_url: str | None = None,
    insecure: bool | None = None,
    workers: int | None = None,
) -> int:
    settings = Settings.from_env(
        flows_dir=flows_dir,
        host=host,
        port=port,
        store=store,
        public_url=public_url,
        insecure=insecure,
        workers=workers,
    )
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
    # Workers are separate processes: hand them the settings through the environment.
    os.environ.update(
        {
            "IVR_FLOWS": settings.flows_dir,
            "IVR_STORE": settings.store,
            "IVR_PUBLIC_URL": settings.public_url,
            "IVR_INSECURE": "1" if settings.insecure else "",
        }
    )
    uvicorn.run(
        "ivr.web.server:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0
