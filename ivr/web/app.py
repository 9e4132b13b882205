"""The ASGI application: routes, and `create_app` to build it from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ivr.flow.loader import load_flows
from ivr.flow.model import Flow
from ivr.flow.problems import format_text
from ivr.outbound.delivery import Delivery
from ivr.settings import Settings
from ivr.store import Store, open_store
from ivr.web import api, sms, switches, voice
from ivr.web.registry import FlowRegistry
from ivr.web.signature import SignatureCheck
from ivr.web.webhook import Services, services

log = logging.getLogger("ivr")


class FlowErrors(Exception):
    """The flows have errors: the server must not start on them."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report


class MissingToken(Exception):
    """No TWILIO_AUTH_TOKEN and no --insecure."""


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "flows": services(request).registry.names()})


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(exc.detail, status_code=exc.status_code)


def preflight(settings: Settings) -> dict[str, Flow]:
    """The checks before a start: a token (or --insecure) and flows without errors."""
    if not settings.auth_token and not settings.insecure:
        raise MissingToken(
            "TWILIO_AUTH_TOKEN is not set, so Twilio's signatures can't be checked. Set it to "
            "your account's auth token, or pass --insecure to accept unsigned requests "
            "(for trying things out only)."
        )
    flows, problems = load_flows([settings.flows_dir])
    if any(p.level == "error" for p in problems):
        raise FlowErrors(format_text(problems))
    for problem in problems:
        log.warning("%s", format_text([problem]))
    return flows


def create_app(
    settings: Settings | None = None,
    *,
    flows: Mapping[str, Flow] | None = None,
    store: Store | None = None,
    deliver: bool = True,
) -> Starlette:
    """Build the app. Raises FlowErrors if a flow has errors, MissingToken without a token.

    With `deliver`, the app sends what the outbox holds while it runs (its lifespan); without,
    texts and notes stay in the store, for a flow tried out or tested.
    """
    settings = settings or Settings.from_env()
    flows = preflight(settings) if flows is None else flows
    if settings.insecure and not settings.auth_token:
        log.warning("running without signature checks (--insecure): anyone can drive the flows")
    store = store or open_store(settings.store)
    registry = FlowRegistry(flows, store, recheck=settings.flow_recheck)
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/voice/{flow}", voice.incoming, methods=["POST"]),
        Route("/voice/{flow}/gather", voice.gathered, methods=["POST"]),
        Route("/voice/{flow}/record", voice.recorded, methods=["POST"]),
        Route("/voice/{flow}/dial", voice.dialed, methods=["POST"]),
        Route("/voice/{flow}/transcription", voice.transcription, methods=["POST"]),
        Route("/voice/{flow}/status", voice.status, methods=["POST"]),
        Route("/sms/{flow}", sms.incoming, methods=["POST"]),
        *api.ROUTES,
        *switches.ROUTES,
    ]
    svc = Services(
        settings=settings,
        registry=registry,
        store=store,
        signatures=SignatureCheck(settings.auth_token, settings.public_url, settings.insecure),
        delivery=Delivery(store, settings) if deliver else None,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(svc.delivery.run()) if svc.delivery else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan
    )
    app.state.services = svc
    return app
