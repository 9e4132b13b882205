"""The ASGI application: routes, and `create_app` to build it from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ivr.engine.clock import Clock, utc_now
from ivr.flow.loader import load_flows
from ivr.flow.model import Flow
from ivr.flow.problems import format_text
from ivr.outbound.delivery import Delivery
from ivr.outbound.fetch import Sender, send
from ivr.outbound.rest import Refused, make_client
from ivr.settings import Settings
from ivr.store import STORE_ERRORS, Retention, Store, open_store, unusable
from ivr.store.retention import keep_pruning
from ivr.store.threaded import in_thread
from ivr.web import api, fetching, metrics, sms, switches, voice
from ivr.web.health import health
from ivr.web.registry import FlowRegistry
from ivr.web.signature import SignatureCheck
from ivr.web.webhook import Services

if TYPE_CHECKING:
    from twilio.rest import Client  # made only with credentials (outbound.rest)

log = logging.getLogger("ivr")


class FlowErrors(Exception):
    """The flows have errors: the server must not start on them."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report


class MissingToken(Exception):
    """No TWILIO_AUTH_TOKEN and no --insecure."""


class StartupRefused(Exception):
    """The app can't serve (its store can't be opened): the message says why, in one line."""


class OneLineRefusal:
    """A start refused is logged as its one line, not as a traceback.

    The ASGI server logs what the app says when its startup fails; Starlette says the whole
    traceback. A `StartupRefused` says all there is to know: the store, and what is wrong.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def told(message: Message) -> None:
            refused = sys.exception()  # the failure being handled, if that is what this is
            if message["type"] == "lifespan.startup.failed" and isinstance(refused, StartupRefused):
                message = {**message, "message": str(refused)}
            await send(message)

        await self.app(scope, receive, told if scope["type"] == "lifespan" else send)


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
    for line in fetching.unset_secrets(flows, settings.secrets):
        log.warning("%s", line)
    return flows


def create_app(
    settings: Settings | None = None,
    *,
    flows: Mapping[str, Flow] | None = None,
    store: Store | None = None,
    deliver: bool = True,
    twilio_client: Client | None = None,
    clock: Clock = utc_now,
    fetcher: Sender = send,
) -> Starlette:
    """Build the app. Raises FlowErrors if a flow has errors, MissingToken without a token.

    The app makes the store of `settings.store` unless given one; it opens the store when it
    starts (its lifespan), refusing to start when that fails (`StartupRefused`), and closes the
    store it made when it shuts down: a store given is the caller's to close. With `deliver`,
    the app sends what the outbox holds while it runs; without, texts and notes stay in the
    store, for a flow tried out or tested. The REST client (Twilio's, for the outbound API and
    for delivery) is made from the settings unless given; `clock` is the time the flows go
    by; `fetcher` sends their `fetch` (over HTTP unless given).
    """
    settings = settings or Settings.from_env()
    flows = preflight(settings) if flows is None else flows
    if settings.insecure and not settings.auth_token:
        log.warning("running without signature checks (--insecure): anyone can drive the flows")
    owned = store is None
    retention = Retention(history=settings.keep_history, messages=settings.keep_messages)
    store = store or open_store(settings.store, retention)  # made, not opened: see `lifespan`
    twilio = twilio_client if twilio_client is not None else _rest_client(settings)
    # Tried in this order: the webhooks of every call and text first (each route passed over
    # costs a webhook a match).
    routes = [
        Route("/voice/{flow}", voice.incoming, methods=["POST"]),
        Route("/voice/{flow}/gather", voice.gathered, methods=["POST"]),
        Route("/voice/{flow}/status", voice.status, methods=["POST"]),
        Route("/sms/{flow}", sms.incoming, methods=["POST"]),
        Route("/voice/{flow}/record", voice.recorded, methods=["POST"]),
        Route("/voice/{flow}/dial", voice.dialed, methods=["POST"]),
        Route("/voice/{flow}/hold", voice.held, methods=["POST"]),
        Route("/voice/{flow}/queue", voice.dequeued, methods=["POST"]),
        Route("/voice/{flow}/fetch", voice.fetched, methods=["POST"]),
        Route("/voice/{flow}/transcription", voice.transcription, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/health/ready", health, methods=["GET"]),
        *api.ROUTES,
        *switches.ROUTES,
    ]
    svc = Services(
        settings=settings,
        registry=FlowRegistry(
            flows, store, recheck=settings.flow_recheck, folder=settings.flows_dir
        ),
        store=store,
        signatures=SignatureCheck(settings.auth_token, settings.public_url, settings.insecure),
        delivery=Delivery(store, settings, client=twilio) if deliver else None,
        clock=clock,
        twilio=twilio,
        fetcher=fetcher,
    )
    routes.append(
        Route(
            "/metrics",
            metrics.endpoint(settings.metrics_token, svc.metrics, store),
            methods=["GET"],
        )
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await store.aopen()
            await in_thread(svc.registry.keep_versions)
        except STORE_ERRORS as exc:
            if owned:
                await store.aclose()
            named = settings.store if owned else "given to the app"
            raise StartupRefused(unusable(named, exc)) from exc
        tasks = [asyncio.create_task(keep_pruning(store))]
        if svc.delivery:
            tasks.append(asyncio.create_task(svc.delivery.run()))
        port = settings.metrics_port
        stop_metrics = metrics.serve_port(port, settings.host, svc.metrics, store) if port else None
        try:
            yield
        finally:
            if stop_metrics:
                await asyncio.to_thread(stop_metrics)
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if owned:
                await store.aclose()

    app = Starlette(
        routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan
    )
    app.add_middleware(metrics.CountWebhooks, metrics=svc.metrics, known=svc.registry.has)
    app.add_middleware(OneLineRefusal)
    app.state.services = svc
    return app


def _rest_client(settings: Settings) -> Client | None:
    # Without credentials there is no client: the API then says which ones are missing.
    try:
        return make_client(settings)
    except Refused:
        return None
