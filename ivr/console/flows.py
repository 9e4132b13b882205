"""The flows pages: each flow's picture, its check result, and the traffic through it."""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ivr.console.render import page
from ivr.console.traffic import ENDINGS, Traffic, traffic
from ivr.flow.loader import load_flow
from ivr.flow.model import Flow
from ivr.flow.problems import Problem, sort_problems
from ivr.store.queries import Filters
from ivr.tools.graph import mermaid
from ivr.web.webhook import Services

PERIODS = {
    "1": "the last day",
    "7": "the last 7 days",
    "30": "the last 30 days",
    "365": "the last year",
}
MOST = 20_000  # conversations read for one picture's counts


def services(request: Request) -> Services:
    found: Services = request.app.state.web.state.services
    return found


def problems_of(flow: Flow) -> list[Problem]:
    """The check's findings on the flow's file as it is now (edits not yet served included)."""
    if not flow.path:
        return []
    return sort_problems(load_flow(flow.path)[1])


def _period(request: Request) -> str:
    days = request.query_params.get("days", "7")
    return days if days in PERIODS else "7"


async def _traffic(svc: Services, flow: str, days: str) -> Traffic:
    filters = Filters(flow=flow, since=time.time() - int(days) * 86400)
    sessions = await run_in_threadpool(svc.store.conversations, filters, MOST)
    return traffic(sessions)


def notes(counts: Traffic) -> dict[str, str]:
    """What the picture says under each state: how many came in, and where they stopped."""
    found = {}
    for name, state in counts.states.items():
        text = f"{state.entered} in"
        stopped = [f"{n} {how}" for how, n in state.ended.most_common() if how != "finished"]
        if stopped:
            text += " · " + ", ".join(stopped)
        found[name] = text
    return found


async def flow_list(request: Request) -> Response:
    svc = services(request)
    rows = []
    for name in svc.registry.names():
        flow = svc.registry.current(name)
        if flow is None:
            continue
        found = problems_of(flow)
        counts = await _traffic(svc, name, "7")
        rows.append(
            {
                "flow": flow,
                "errors": sum(p.level == "error" for p in found),
                "warnings": sum(p.level == "warning" for p in found),
                "week": counts.conversations,
            }
        )
    return page(request, "flows.html", rows=rows)


async def flow_page(request: Request) -> Response:
    svc = services(request)
    name = request.path_params["flow"]
    flow = svc.registry.current(name)
    if flow is None:
        raise HTTPException(404, f"There is no flow called {name}.")
    days = _period(request)
    counts = await _traffic(svc, name, days)
    return page(
        request,
        "flow.html",
        flow=flow,
        picture=mermaid(flow, notes(counts)),
        problems=problems_of(flow),
        counts=counts,
        endings=[e for e in ENDINGS if counts.endings[e]],
        states=list(flow.states),
        days=days,
        periods=PERIODS,
    )


ROUTES = [
    Route("/flows", flow_list, methods=["GET"]),
    Route("/flows/{flow}", flow_page, methods=["GET"]),
]
