"""The switches over HTTP: `GET /api/switches` and `PUT /api/switches/{name}`.

`PUT` takes JSON `{"on": true, "until": "2026-12-24 08:00"}` (`until` optional: in the flows'
time zone unless it carries an offset, or in `"tz"`), behind `Authorization: Bearer
<IVR_API_TOKEN>` like the rest of the API. Every change is kept, by "api".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ivr.flow.switching import NAME_RULE, SWITCH_NAME, parse_moment, zone_named, zone_of
from ivr.store.base import SwitchChange
from ivr.web.api import MAX_BODY, error, refuse_unless_allowed
from ivr.web.webhook import services

log = logging.getLogger("ivr.web.switches")


def _iso(ts: float | None) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def describe(change: SwitchChange, now: float) -> dict[str, Any]:
    return {
        "name": change.name,
        "on": change.value(now),
        "until": _iso(change.until) if change.until is None or now < change.until else None,
        "changed": _iso(change.at),
        "by": change.by,
    }


async def list_switches(request: Request) -> Response:
    denied = refuse_unless_allowed(request)
    if denied is not None:
        return denied
    store = services(request).store
    found = await run_in_threadpool(store.switches)
    now = services(request).clock().timestamp()
    return JSONResponse({"switches": [describe(c, now) for c in found.values()]})


def _change(request: Request, name: str, data: object, now: float) -> SwitchChange:
    if not isinstance(data, dict) or not isinstance(data.get("on"), bool):
        raise ValueError('send a JSON object such as {"on": true} or {"on": false}')
    until, tz = data.get("until"), data.get("tz")
    at_until: float | None = None
    if until is not None:
        if not isinstance(until, str) or (tz is not None and not isinstance(tz, str)):
            raise ValueError('"until" and "tz" must be strings, e.g. "2026-12-24 08:00"')
        registry = services(request).registry
        flows = [f for n in registry.names() if (f := registry.current(n)) is not None]
        zone = zone_named(tz) if tz else zone_of(flows)
        at_until = parse_moment(until, zone).timestamp()
        if at_until <= now:
            raise ValueError(f'"until" ({until}) has already passed')
    return SwitchChange(name, data["on"], now, "api", at_until)


async def put_switch(request: Request) -> Response:
    denied = refuse_unless_allowed(request)
    if denied is not None:
        return denied
    name = request.path_params["name"]
    if not SWITCH_NAME.fullmatch(name):
        return error(f"{name!r} is not a switch name: use {NAME_RULE}", "bad_request", 400)
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return error("the request body is too large", "bad_request", 413)
    now = services(request).clock().timestamp()
    try:
        change = _change(request, name, json.loads(raw or b"null"), now)
    except (ValueError, UnicodeDecodeError) as exc:
        return error(str(exc), "bad_request", 400)
    await run_in_threadpool(services(request).store.set_switch, change)
    log.info("switch %s turned %s over the API", name, "on" if change.on else "off")
    return JSONResponse(describe(change, now))


ROUTES = [
    Route("/api/switches", list_switches, methods=["GET"]),
    Route("/api/switches/{name}", put_switch, methods=["PUT"]),
]
