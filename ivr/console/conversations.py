"""The conversations pages: calls and texts with filters, and one conversation step by step.

The list polls a fragment of itself (`/conversations/rows`) so new calls appear without a reload;
without JavaScript it is an ordinary page with a filter form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ivr.console.flows import services
from ivr.console.render import page
from ivr.console.traffic import ENDINGS, ending
from ivr.engine.session import Session
from ivr.store.queries import Filters
from ivr.tools.reports import delivery

SHOWN = 100
READ = 2_000  # read for the ending filter, which the store can't apply


@dataclass(frozen=True)
class Asked:
    """The filters as the form sent them."""

    flow: str = ""
    number: str = ""
    channel: str = ""
    outcome: str = ""
    date: str = ""

    @classmethod
    def of(cls, request: Request) -> Asked:
        q = request.query_params
        return cls(
            flow=q.get("flow", "").strip(),
            number=q.get("number", "").strip(),
            channel=q.get("channel", "") if q.get("channel") in ("voice", "sms") else "",
            outcome=q.get("outcome", "") if q.get("outcome") in ENDINGS else "",
            date=q.get("date", "").strip(),
        )

    def filters(self) -> Filters:
        since = until = 0.0
        if self.date:
            try:
                day = dt.datetime.strptime(self.date, "%Y-%m-%d")  # the server's local day
            except ValueError:
                day = None
            if day is not None:
                since, until = day.timestamp(), (day + dt.timedelta(days=1)).timestamp()
        return Filters(self.flow, self.number, self.channel, since, until)


async def _found(request: Request, asked: Asked) -> list[tuple[Session, str]]:
    store = services(request).store
    read = READ if asked.outcome else SHOWN
    sessions = await run_in_threadpool(store.conversations, asked.filters(), read)
    rows = [(s, ending(s)) for s in sessions]
    return [r for r in rows if not asked.outcome or r[1] == asked.outcome][:SHOWN]


async def conversation_list(request: Request) -> Response:
    asked = Asked.of(request)
    return page(
        request,
        "conversations.html",
        rows=await _found(request, asked),
        asked=asked,
        flows=services(request).registry.names(),
        endings=ENDINGS,
        query=request.url.query,
    )


async def conversation_rows(request: Request) -> Response:
    rows = await _found(request, Asked.of(request))
    return page(request, "conversation_rows.html", rows=rows)


async def conversation_page(request: Request) -> Response:
    svc = services(request)
    key = request.path_params["key"]
    session = await run_in_threadpool(svc.store.conversation, key)
    if session is None:
        raise HTTPException(404, "There is no such conversation in the history.")
    kept = await run_in_threadpool(svc.store.messages, session.flow, 1_000)
    outbox = await run_in_threadpool(svc.store.outgoing, session.flow, 1_000)
    flow = svc.registry.version(session.flow, session.version)
    language = session.vars.get("language") or (flow.language if flow else None) or ""
    return page(
        request,
        "conversation.html",
        s=session,
        how=ending(session),
        language=language,
        messages=[m for m in kept if m.conversation == session.key][::-1],
        variables=sorted(session.vars.items()),
        sent=[o for o in outbox if o.conversation == session.key][::-1],
        delivery=delivery,
    )


ROUTES = [
    Route("/conversations", conversation_list, methods=["GET"]),
    Route("/conversations/rows", conversation_rows, methods=["GET"]),
    Route("/conversations/{key:path}", conversation_page, methods=["GET"]),
]
