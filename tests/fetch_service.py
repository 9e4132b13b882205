"""A small HTTP service on 127.0.0.1 that `fetch` states ask: a clinic's appointment book, and
every way another system can misbehave (slow, hanging, huge, redirecting, not JSON, 500).

It runs under uvicorn in a thread of the test process and keeps every request it got, so a test
can look at what was sent (the raw path and query, the headers, the body).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from conftest import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

APPOINTMENTS = {
    "1234": {
        "next": {"time": "Tuesday at 3 PM", "doctor": {"name": "Doctor Rivera"}},
        "items": [{"name": "check-up"}, {"name": "blood test"}],
        "count": 2,
        "confirmed": True,
    }
}
HUGE = 5 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    method: str
    raw_path: str  # as it came on the wire, percent-encoding and all
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Service:
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends `/hold`
    closing: threading.Event = field(default_factory=threading.Event)  # ends every wait

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.closing.set()
        self.release.set()
        self.server.should_exit = True
        self.thread.join(10)


def _app(received: list[Received], release: threading.Event, closing: threading.Event) -> Starlette:
    async def keep(request: Request) -> None:
        received.append(
            Received(
                request.method,
                request.scope["raw_path"].decode("latin-1"),
                request.scope["query_string"].decode("latin-1"),
                dict(request.headers),
                await request.body(),
            )
        )

    async def appointments(request: Request) -> Response:
        await keep(request)
        if request.method == "POST":
            patient = json.loads(await request.body() or b"{}").get("patient", "")
        else:
            patient = request.query_params.get("patient", "")
        found = APPOINTMENTS.get(patient)
        if found is None:
            return JSONResponse({"error": "no such patient"}, status_code=404)
        return JSONResponse(found)

    async def echo(request: Request) -> Response:
        await keep(request)
        return JSONResponse({"path": request.scope["raw_path"].decode("latin-1")})

    async def slow(request: Request) -> Response:
        await keep(request)
        await asyncio.to_thread(closing.wait, float(request.query_params.get("seconds", "30")))
        return JSONResponse(APPOINTMENTS["1234"])

    async def hold(request: Request) -> Response:
        # Answers only when the test says so: a request under way for as long as it needs.
        await keep(request)
        await asyncio.to_thread(release.wait, 30)
        return JSONResponse(APPOINTMENTS["1234"])

    async def drip(request: Request) -> Response:
        # Headers at once, then a byte now and then: every read is quick, the reply never ends.
        await keep(request)

        async def body() -> AsyncIterator[bytes]:
            yield b'{"next": '
            for _ in range(600):
                if closing.is_set():
                    return
                await asyncio.sleep(0.1)
                yield b" "

        return StreamingResponse(body(), media_type="application/json")

    async def huge(request: Request) -> Response:
        await keep(request)
        chunk = b" " * 65536

        async def body() -> AsyncIterator[bytes]:
            yield b'{"next": {"time": "noon"}, "padding": "'
            for _ in range(HUGE // len(chunk)):
                yield chunk
            yield b'"}'

        return StreamingResponse(body(), media_type="application/json")

    async def broken(request: Request) -> Response:
        await keep(request)
        return JSONResponse({"error": "database down"}, status_code=500)

    async def text(request: Request) -> Response:
        await keep(request)
        return PlainTextResponse("<html>Appointments</html>")

    async def loop(request: Request) -> Response:
        await keep(request)
        return Response(status_code=302, headers={"Location": "/loop"})

    routes = [
        Route("/appointments", appointments, methods=["GET", "POST"]),
        Route("/echo/{rest:path}", echo, methods=["GET", "POST"]),
        Route("/slow", slow),
        Route("/drip", drip),
        Route("/hold", hold),
        Route("/huge", huge),
        Route("/broken", broken),
        Route("/text", text),
        Route("/loop", loop),
    ]
    return Starlette(routes=routes)


def start() -> Service:
    """The service on a free port, answering once this returns."""
    received: list[Received] = []
    release, closing = threading.Event(), threading.Event()
    port = free_port()
    config = uvicorn.Config(
        _app(received, release, closing),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test HTTP service did not start")
        time.sleep(0.01)
    return Service(port, server, thread, received, release, closing)
