"""The switches page: every switch's value, turning one on or off (for a while), its history.

A change made here is kept like one made by `ivr switch` or the API, by "console" and the name
the person gave.
"""

from __future__ import annotations

import datetime as dt
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ivr.console.auth import changes
from ivr.console.flows import services
from ivr.console.render import page, quoted, redirect
from ivr.flow.switching import NAME_RULE, SWITCH_NAME, parse_moment, zone_of
from ivr.store.base import SwitchChange

log = logging.getLogger("ivr.console")


def _zone(request: Request) -> dt.tzinfo:
    registry = services(request).registry
    flows = [f for n in registry.names() if (f := registry.current(n)) is not None]
    try:
        return zone_of(flows)
    except ValueError:  # several zones: show and read times in the server's own
        return dt.datetime.now().astimezone().tzinfo or dt.UTC


def _local(ts: float | None, zone: dt.tzinfo) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M %Z")


async def switch_list(request: Request, error: str = "", status: int = 200) -> Response:
    svc = services(request)
    found = await run_in_threadpool(svc.store.switches)
    now, zone = svc.clock().timestamp(), _zone(request)
    rows = [
        {
            "name": c.name,
            "on": c.value(now),
            "until": _local(c.until, zone) if c.until is not None and now < c.until else "",
            "since": _local(c.at, zone),
            "by": c.by,
        }
        for c in sorted(found.values(), key=lambda c: c.name)
    ]
    return page(request, "switches.html", status, rows=rows, error=error, rule=NAME_RULE)


async def switch_page(request: Request) -> Response:
    svc = services(request)
    name = request.path_params["name"]
    found = await run_in_threadpool(svc.store.switch_history, name, 100)
    zone = _zone(request)
    now = svc.clock().timestamp()
    rows = [
        {"on": c.on, "at": _local(c.at, zone), "until": _local(c.until, zone), "by": c.by}
        for c in found
    ]
    value = found[0].value(now) if found else False
    return page(request, "switch.html", name=name, rows=rows, on=value)


@changes
async def turn(request: Request) -> Response:
    svc = services(request)
    form = await request.form()
    name = str(form.get("name") or "").strip()
    if not SWITCH_NAME.fullmatch(name):
        return await switch_list(request, f"“{name}” is not a switch name: use {NAME_RULE}.", 400)
    now = svc.clock().timestamp()
    until_text = str(form.get("until") or "").strip()
    until = None
    if until_text:
        try:
            until = parse_moment(until_text, _zone(request)).timestamp()
        except ValueError as exc:
            return await switch_list(request, f"Until: {exc}.", 400)
        if until <= now:
            return await switch_list(request, f"Until: {until_text} has already passed.", 400)
    person = str(form.get("by") or "").strip()[:60]
    on = form.get("on") == "yes"
    change = SwitchChange(name, on, now, f"console ({person})" if person else "console", until)
    await run_in_threadpool(svc.store.set_switch, change)
    log.info("switch %s turned %s in the console", name, "on" if on else "off")
    return redirect(request, f"/switches#switch-{quoted(name)}")


ROUTES = [
    Route("/switches", switch_list, methods=["GET"]),
    Route("/switches", turn, methods=["POST"]),
    Route("/switches/{name}", switch_page, methods=["GET"]),
]
