"""`/health`: is the process up, and can it reach its store; `/health/ready`: 503 when not."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ivr.store.base import Store
from ivr.web.webhook import services

log = logging.getLogger("ivr.health")
# A store that takes longer than this to answer a read is as good as down for a webhook.
PROBE_SECONDS = 2.0
PROBE_KEY = "health:probe"


async def store_problem(store: Store) -> str | None:
    """Why the store can't be read right now, or None."""
    try:
        await asyncio.wait_for(store.aload(PROBE_KEY), PROBE_SECONDS)
    except TimeoutError:
        return f"no answer within {PROBE_SECONDS:g} s"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def health(request: Request) -> Response:
    """Liveness: 200 while the process answers, with the store's state said truthfully.

    With `?ready`, or at `/health/ready`: 503 when the store can't be reached, so that a load
    balancer sends calls elsewhere.
    """
    svc = services(request)
    problem = await store_problem(svc.store)
    body = {
        "status": "ok" if problem is None else "degraded",
        "store": "ok" if problem is None else f"unreachable: {problem}",
        "flows": svc.registry.names(),
    }
    ready = request.url.path.endswith("/ready") or "ready" in request.query_params
    if problem is not None:
        svc.metrics.store_errors.inc()
        log.error("health check: the store can't be reached: %s", problem)
    return JSONResponse(body, status_code=503 if ready and problem else 200)
