"""The HTTP API: start calls and text conversations from other systems.

`POST /api/flows/{flow}/calls` and `POST /api/flows/{flow}/texts` with JSON
`{"to": ..., "from": ..., "vars": {...}}` (a call may add `"detect_machine": true`), behind
`Authorization: Bearer <IVR_API_TOKEN>`.
Answers `{"sid": ...}` (201), or `{"error": ..., "code": ...}` with a 4xx, a 500 (the store could
not keep a call's variables: the call was not placed) or a 502 (Twilio) status. Without
IVR_API_TOKEN the API is off and answers 404.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ivr.outbound.rest import Refused, make_client
from ivr.outbound.start import Sender
from ivr.web.webhook import services

if TYPE_CHECKING:
    from twilio.rest import Client  # made only with credentials (outbound.rest)

log = logging.getLogger("ivr.web.api")
MAX_BODY = 64 * 1024


def _error(message: str, code: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, "code": code, **extra}, status_code=status)


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def refuse_unless_allowed(request: Request) -> Response | None:
    """The answer to a request the API must refuse (off, or no valid token); else None."""
    token = services(request).settings.api_token
    if not token:
        return _error("the API is off: set IVR_API_TOKEN to turn it on", "api_off", 404)
    if not _authorized(request, token):
        response = _error("send Authorization: Bearer <IVR_API_TOKEN>", "unauthorized", 401)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return None


def error(message: str, code: str, status: int) -> JSONResponse:
    return _error(message, code, status)


async def _body(request: Request) -> tuple[str, str, dict[str, str], bool]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise Refused("the request body is too large", "bad_request", 413)
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(f"the body is not JSON: {exc}", "bad_request") from exc
    if not isinstance(data, dict):
        raise Refused('send a JSON object: {"to": ..., "from": ..., "vars": {...}}', "bad_request")
    to, from_, values = data.get("to"), data.get("from"), data.get("vars") or {}
    for key, value in (("to", to), ("from", from_)):
        if not isinstance(value, str) or not value:
            raise Refused(f"`{key}` is required: a phone number in E.164 form", "bad_request")
    if not isinstance(values, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in values.values()
    ):
        raise Refused("`vars` must be an object of names to strings or numbers", "bad_request")
    detect = data.get("detect_machine", False)
    if not isinstance(detect, bool):
        raise Refused("`detect_machine` must be true or false", "bad_request")
    assert isinstance(to, str) and isinstance(from_, str)
    return to, from_, {str(k): str(v) for k, v in values.items()}, detect


def _client(request: Request) -> Client:
    # Made once with the app: it keeps its connections to Twilio open between requests.
    client = services(request).twilio
    if client is None:
        return make_client(services(request).settings)  # refuses, naming what is missing
    return client


async def _start(request: Request, kind: str) -> Response:
    svc = services(request)
    denied = refuse_unless_allowed(request)
    if denied is not None:
        return denied
    name = request.path_params["flow"]
    try:
        to, from_, values, detect = await _body(request)
        flow = svc.registry.current(name)
        if flow is None:
            raise Refused(f"no flow named {name!r}", "unknown_flow", 404)
        if detect and kind == "text":
            raise Refused(
                "`detect_machine` is for calls: a text has no answering machine", "bad_request"
            )
        sender = Sender(svc.settings, svc.store, _client(request))
        if kind == "call":
            start = functools.partial(sender.call, detect_machine=detect)
            sid = await run_in_threadpool(start, flow, to, from_, values)
        else:
            sid = await run_in_threadpool(sender.text, flow, to, from_, values)
            svc.outbox_due()  # what its first step wrote beside the texts (a text, a note)
    except Refused as refused:
        log.warning("API %s refused: %s", kind, refused.message)
        extra = {"twilio_code": refused.twilio_code} if refused.twilio_code else {}
        return _error(refused.message, refused.code, refused.status, **extra)
    except Exception:
        log.exception("API %s failed (flow %s)", kind, name)
        return _error("something went wrong on the server; see its log", "internal", 500)
    log.info("API started a %s with flow %s to %s: %s", kind, name, to, sid)
    return JSONResponse({"sid": sid}, status_code=201)


async def start_call(request: Request) -> Response:
    return await _start(request, "call")


async def start_text(request: Request) -> Response:
    return await _start(request, "text")


ROUTES = [
    Route("/api/flows/{flow}/calls", start_call, methods=["POST"]),
    Route("/api/flows/{flow}/texts", start_text, methods=["POST"]),
]
