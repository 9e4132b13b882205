"""Metrics for Prometheus: webhooks by flow, channel and status, their latency, store errors,
notes waiting to be sent and conversations live.

Never public by default: `/metrics` answers only `Authorization: Bearer <IVR_METRICS_TOKEN>`,
or they are served on a port of their own (`--metrics-port`, on the server's host address).
With several workers, `ivr serve` runs prometheus-client's multiprocess mode, so that one scrape
adds up every worker's counts; the store's numbers are read from the store at each scrape.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ivr.store.base import Store
from ivr.store.queries import Filters

log = logging.getLogger("ivr.metrics")
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"
CHANNELS = ("voice", "sms")
# What one scrape reads of the store, at most: far more than one server's live traffic.
SCAN = 10_000
LIVE_WITHIN = 24 * 3600.0  # a conversation untouched for longer is no longer counted live


class Metrics:
    """The counters of one app, in a registry of its own (a process may build several apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "ivr_webhooks",
            "Webhooks answered, by flow, channel and HTTP status",
            ["flow", "channel", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ivr_webhook_seconds",
            "Time to answer a webhook, by channel",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
            registry=self.registry,
        )
        self.store_errors = Counter(
            "ivr_store_errors",
            "Webhooks and health checks that failed because of the store",
            registry=self.registry,
        )

    def sources(self, store: Store) -> _Both:
        """The counters of every worker (or this process's), and the store's numbers now."""
        counters: Any = self.registry
        if os.environ.get(MULTIPROCESS):
            counters = CollectorRegistry()
            multiprocess.MultiProcessCollector(counters)  # type: ignore[no-untyped-call]
        return _Both(counters, store)

    def scrape(self, store: Store) -> bytes:
        """The text Prometheus reads."""
        return generate_latest(self.sources(store))


class _Both:
    def __init__(self, counters: Any, store: Store) -> None:
        self.counters, self.store = counters, store

    def collect(self) -> Iterator[Metric]:
        yield from self.counters.collect()
        yield from store_numbers(self.store, time.time())


def store_numbers(store: Store, now: float) -> Iterable[Metric]:
    """Notes and texts waiting to be sent, and conversations live, as the store has them."""
    waiting = GaugeMetricFamily(
        "ivr_outbox_waiting", "Notes and texts waiting to be sent", labels=["kind"]
    )
    live = GaugeMetricFamily(
        "ivr_conversations_live", "Conversations under way", labels=["channel"]
    )
    try:
        pending = [item for item in store.outgoing(None, SCAN) if item.status == "pending"]
        sessions = store.conversations(Filters(since=now - 7 * LIVE_WITHIN), SCAN)
    except Exception as exc:  # a scrape must say what it can, and the store's errors are counted
        log.warning("metrics: the store can't be read: %s", exc)
        return []
    for kind in ("note", "text"):
        waiting.add_metric([kind], sum(1 for item in pending if item.kind == kind))
    for channel in CHANNELS:
        count = sum(
            1
            for s in sessions
            if s.channel == channel and not s.ended and s.updated >= now - LIVE_WITHIN
        )
        live.add_metric([channel], count)
    return [waiting, live]


class CountWebhooks:
    """ASGI middleware: counts and times every `/voice/...` and `/sms/...` request.

    The flow label is the flow's name only for a flow the server has: any other name in a URL
    counts as "unknown", so that made-up URLs can't grow the metrics without end.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, known: Callable[[str], bool]) -> None:
        self.app, self.metrics, self.known = app, metrics, known
        # Each label set's counter and histogram, found once: `labels()` looks them up under a
        # lock, which was most of what counting cost a webhook. Few: known flows, statuses.
        self._counts: dict[tuple[str, str, str], Any] = {}
        self._times = {c: metrics.latency.labels(c) for c in CHANNELS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"].split("/") if scope["type"] == "http" else []
        if len(parts) < 3 or parts[1] not in CHANNELS:
            await self.app(scope, receive, send)
            return
        channel, flow = parts[1], parts[2]
        status = 500
        start = time.perf_counter()

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            self._times[channel].observe(time.perf_counter() - start)
            labels = (flow if self.known(flow) else "unknown", channel, str(status))
            count = self._counts.get(labels)
            if count is None:
                count = self._counts[labels] = self.metrics.webhooks.labels(*labels)
            count.inc()


def serve_port(port: int, host: str, metrics: Metrics, store: Store) -> Callable[[], None] | None:
    """Serve the metrics on a port of their own, in a thread; what stops it, or None if the
    port is taken (with several workers, the first one to start serves it)."""
    try:
        server, thread = start_http_server(port, host, registry=_Scraped(metrics, store))
    except OSError as exc:
        log.info("metrics port %d not served by this worker: %s", port, exc)
        return None
    log.info("metrics for Prometheus on http://%s:%d/metrics", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop


class _Scraped:
    # What prometheus-client's own HTTP server asks for: something to `collect`.
    def __init__(self, metrics: Metrics, store: Store) -> None:
        self.metrics, self.store = metrics, store

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics.sources(self.store).collect()


def endpoint(token: str, metrics: Metrics, store: Store) -> Callable[[Request], Any]:
    """`GET /metrics`: 404 without a token set, 401 without the right bearer token."""

    async def serve(request: Request) -> Response:
        if not token:
            return PlainTextResponse("Not Found", status_code=404)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return PlainTextResponse(
                "Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        body = await asyncio.to_thread(metrics.scrape, store)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return serve
