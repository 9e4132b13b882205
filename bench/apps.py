"""The two apps the engine is measured against, served by uvicorn like `ivr serve`.

`bare` is the floor: Starlette parses the form and answers a constant TwiML menu, whatever the
path. `handwritten` is a menu written the way Twilio's tutorials teach it: every route checks
the signature with `RequestValidator` and builds its reply with `VoiceResponse`; which option
the caller is in rides in the URL, so it keeps no sessions. It speaks the same prompts as
`bench/flows/bench_menu.yaml`.

Run one with `uvicorn apps:bare --app-dir bench` (or `apps:handwritten`, with
TWILIO_AUTH_TOKEN set); `bench/run.py` does that itself.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

MENU_TWIML = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response>'
    b'<Gather action="/voice/bench_menu/gather?seq=1" method="POST" input="dtmf" timeout="5" '
    b'finishOnKey="#" numDigits="1"><Say voice="Polly.Joanna" language="en-US">Thanks for '
    b"calling. For sales press 1. For support press 2. For billing press 3.</Say></Gather>"
    b'<Redirect method="POST">/voice/bench_menu/gather?seq=1</Redirect></Response>'
)


async def constant_menu(request: Request) -> Response:
    await request.form()  # the same parsing work every webhook app does
    return Response(MENU_TWIML, media_type="application/xml")


bare = Starlette(routes=[Route("/{path:path}", constant_menu, methods=["POST"])])

# -- the hand-written menu ---------------------------------------------------------------------

GREETING = "Thanks for calling. For sales press 1. For support press 2. For billing press 3."
DEPARTMENTS = {
    "1": (
        "sales",
        "Sales. For a new order press 1. For an order you already placed press 2.",
        {
            "1": "Please order on our website, where every product is listed. Goodbye.",
            "2": "Your order status is in the email we sent when you ordered. Goodbye.",
        },
    ),
    "2": (
        "support",
        "Support. For internet press 1. For phone service press 2.",
        {
            "1": "Please restart your router, and call again if that does not help. Goodbye.",
            "2": "Our phone service team is open on weekdays from nine to five. Goodbye.",
        },
    ),
    "3": (
        "billing",
        "Billing. To pay a bill press 1. For a question about a bill press 2.",
        {
            "1": "You can pay online or by bank transfer. Goodbye.",
            "2": "Please email billing, and we will answer within a day. Goodbye.",
        },
    ),
}
BY_NAME = {name: (prompt, options) for name, prompt, options in DEPARTMENTS.values()}
VOICE = {"voice": "Polly.Joanna", "language": "en-US"}

Handler = Callable[[Request], Awaitable[Response]]


def validate_twilio_request(handler: Handler) -> Handler:
    """The tutorials' decorator: refuse a request without a valid X-Twilio-Signature."""
    validator = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", ""))

    async def checked(request: Request) -> Response:
        form = await request.form()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(str(request.url), form, signature):
            return Response(status_code=403)
        return await handler(request)

    return checked


def twiml(response: VoiceResponse) -> Response:
    return Response(str(response), media_type="application/xml")


def gather_menu(prompt: str, action: str) -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=action, method="POST")
    gather.say(prompt, **VOICE)
    response.redirect(action, method="POST")
    return response


@validate_twilio_request
async def welcome(request: Request) -> Response:
    return twiml(gather_menu(GREETING, "/ivr/menu"))


@validate_twilio_request
async def menu(request: Request) -> Response:
    form = await request.form()
    chosen = DEPARTMENTS.get(str(form.get("Digits", "")))
    if chosen is None:
        return twiml(gather_menu("Sorry, that is not an option. " + GREETING, "/ivr/menu"))
    name, prompt, _ = chosen
    return twiml(gather_menu(prompt, f"/ivr/menu/{name}"))


@validate_twilio_request
async def department(request: Request) -> Response:
    form = await request.form()
    prompt, options = BY_NAME.get(request.path_params["name"], ("", {}))
    answer = options.get(str(form.get("Digits", "")))
    if answer is None:
        action = f"/ivr/menu/{request.path_params['name']}"
        return twiml(gather_menu("Sorry, that is not an option. " + prompt, action))
    response = VoiceResponse()
    response.say(answer, **VOICE)
    response.hangup()
    return twiml(response)


@validate_twilio_request
async def status(request: Request) -> Response:
    return Response(status_code=204)


handwritten = Starlette(
    routes=[
        Route("/ivr/welcome", welcome, methods=["POST"]),
        Route("/ivr/menu", menu, methods=["POST"]),
        Route("/ivr/menu/{name}", department, methods=["POST"]),
        Route("/ivr/status", status, methods=["POST"]),
    ]
)
