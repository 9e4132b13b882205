"""The opt-outs page: who texted STOP, and opting a number back in when its owner asks."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ivr.console.auth import changes
from ivr.console.flows import services
from ivr.console.render import page, redirect

log = logging.getLogger("ivr.console")


async def opt_out_list(request: Request) -> Response:
    found = await run_in_threadpool(services(request).store.opt_outs)
    return page(request, "optouts.html", rows=found)


@changes
async def opt_in(request: Request) -> Response:
    form = await request.form()
    number, ours = str(form.get("number") or ""), str(form.get("ours") or "")
    if number:
        await run_in_threadpool(services(request).store.set_opt_out, number, ours, False)
        log.info("console: %s opted back in to texts from %s", number, ours or "every number")
    return redirect(request, "/opt-outs")


ROUTES = [
    Route("/opt-outs", opt_out_list, methods=["GET"]),
    Route("/opt-outs/opt-in", opt_in, methods=["POST"]),
]
