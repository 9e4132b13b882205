"""The messages page: voicemails with a player and their transcription, texts kept, and who in
the office has handled each one (kept in the store, so every host sees the same marks)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx2
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ivr.console.auth import changes, now
from ivr.console.flows import services
from ivr.console.render import page, redirect
from ivr.settings import Settings
from ivr.store.base import MessageRecord
from ivr.tools.reports import delivery

log = logging.getLogger("ivr.console")
SHOWN = 200
AUDIO_TIMEOUT = 15.0


async def message_list(request: Request) -> Response:
    svc = services(request)
    flow = request.query_params.get("flow", "")
    show = request.query_params.get("show", "open")
    kept = await run_in_threadpool(svc.store.messages, flow or None, SHOWN)
    marks = await run_in_threadpool(svc.store.handled, [m.id for m in kept])
    outbox = await run_in_threadpool(svc.store.outgoing, flow or None, SHOWN * 10)
    notes: dict[tuple[str, str], list[str]] = {}
    for item in outbox:
        if item.kind == "note":
            notes.setdefault((item.conversation, item.recording), []).append(delivery(item))
    rows = [
        (m, marks.get(m.id), notes.get((m.conversation, m.url), []))
        for m in kept
        if show == "all" or m.id not in marks
    ]
    return page(
        request,
        "messages.html",
        rows=rows,
        flow=flow,
        show=show,
        flows=svc.registry.names(),
        hidden=len(kept) - len(rows),
    )


@changes
async def mark(request: Request) -> Response:
    svc = services(request)
    form = await request.form()
    message_id = int(request.path_params["id"])
    by = str(form.get("by") or "").strip()[:80] or "someone in the office"
    if form.get("handled") != "yes":
        by = ""  # marked as not handled after all
    await run_in_threadpool(svc.store.set_handled, message_id, by, now())
    back = str(form.get("back") or "/messages")
    return redirect(request, back if back.startswith("/") and "//" not in back else "/messages")


async def _message(request: Request, message_id: int) -> MessageRecord:
    found = await run_in_threadpool(services(request).store.message, message_id)
    if found is None or not found.url:
        raise HTTPException(404, "There is no recording with that number.")
    return found


def _credentials(settings: Settings, url: str) -> tuple[str, str] | None:
    # Twilio's own credentials go to Twilio only, never to another host a recording names.
    host = urlsplit(url).hostname or ""
    if not (host == "twilio.com" or host.endswith(".twilio.com")):
        return None
    if settings.api_key and settings.api_secret:
        return settings.api_key, settings.api_secret
    if settings.account_sid and settings.auth_token:
        return settings.account_sid, settings.auth_token
    return None


async def audio(request: Request) -> Response:
    """The recording, fetched for the browser: Twilio asks for the account's credentials."""
    message = await _message(request, int(request.path_params["id"]))
    settings = services(request).settings
    try:
        async with httpx2.AsyncClient(timeout=AUDIO_TIMEOUT, follow_redirects=True) as client:
            got = await client.get(message.url, auth=_credentials(settings, message.url))
    except httpx2.HTTPError as exc:
        log.warning("console: recording %s could not be fetched: %s", message.url, exc)
        return PlainTextResponse("The recording could not be fetched.", status_code=502)
    if got.status_code != 200:
        log.warning("console: recording %s was answered HTTP %s", message.url, got.status_code)
        return PlainTextResponse("The recording could not be fetched.", status_code=502)
    kind = got.headers.get("content-type", "audio/wav")
    return Response(got.content, media_type=kind, headers={"Cache-Control": "private"})


ROUTES = [
    Route("/messages", message_list, methods=["GET"]),
    Route("/messages/{id:int}/handled", mark, methods=["POST"]),
    Route("/messages/{id:int}/audio", audio, methods=["GET"]),
]
