"""The CPU time of one webhook, in-process: no network, no load generator, one call at a time.

    python bench/inprocess.py                 # a, b, c and d, 2,000 calls each (r: Redis)
    python bench/inprocess.py c --profile     # where the time of (c) goes, by cProfile

The same signed calls as bench/run.py go straight to each ASGI app. What is left is what the
app itself costs per webhook, which varies much less from run to run than requests per second
on a shared machine: the number to compare before and after a change to the hot path. For
(r), the redis-server's CPU per webhook is said too (on average over the measured calls: the
kernel counts a process's CPU in ticks), since the end-to-end run counts it in the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
os.environ["TWILIO_AUTH_TOKEN"] = "bench-auth-token-0123456789abcdef"

from calls import TOKEN, call, sid_of  # noqa: E402  (after the path and the token it reads)
from load import cpu_seconds  # noqa: E402
from servers import SERVERS, free_port  # noqa: E402

Message = MutableMapping[str, Any]
App = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
PORT = 8000
STOP: list[Any] = []  # servers to stop at the end
WARM_CALLS = 100
BATCH = 50  # calls, four webhooks each


def build(key: str, folder: str) -> tuple[App, str]:
    """The app of server `key` and the routes its calls take."""
    if key in ("a", "b"):
        import apps

        return (apps.bare, "ivr") if key == "a" else (apps.handwritten, "tutorial")
    from ivr.settings import Settings
    from ivr.web.app import create_app

    store = f"sqlite:///{folder}/bench.sqlite3" if key == "c" else "memory://"
    if key == "r":  # a redis-server of its own, stopped with the folder's cleanup below
        import redis_bench

        proc, store = redis_bench.start_redis(Path(folder), free_port())
        STOP.append(proc)
    flows = str(BENCH / "flows")
    return create_app(Settings(flows_dir=flows, store=store, auth_token=TOKEN)), "ivr"


def requests(style: str, calls: int) -> list[tuple[Message, bytes, int]]:
    validator = RequestValidator(TOKEN)
    found = []
    for n in range(calls):
        for hook in call(style, sid_of("1", n), n):
            url = f"http://127.0.0.1:{PORT}{hook.path}"
            body = urlencode(hook.form).encode()
            path, _, query = hook.path.partition("?")
            signature = validator.compute_signature(url, hook.form)
            scope: Message = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "query_string": query.encode(),
                "root_path": "",
                "headers": [
                    (b"host", f"127.0.0.1:{PORT}".encode()),
                    (b"content-type", b"application/x-www-form-urlencoded"),
                    (b"x-twilio-signature", signature.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
                "server": ("127.0.0.1", PORT),
                "client": ("127.0.0.1", 40000),
            }
            found.append((scope, body, hook.status))
    return found


async def post(app: App, scope: Message, body: bytes) -> tuple[int, bytes]:
    answer: dict[str, Any] = {"body": b""}
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # a client that stays connected
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(dict(scope), receive, send)
    return answer["status"], answer["body"]


async def measure(key: str, calls: int, profile: bool) -> tuple[float, float, int, float]:
    """(best, median) CPU µs per webhook over batches of calls, how many were wrong, and the
    redis-server's CPU µs per webhook on average (0 without one).

    Other work on the machine only ever adds time, so the best batch is the steadiest figure.
    """
    with tempfile.TemporaryDirectory() as folder:
        app, style = build(key, folder)
        todo = requests(style, WARM_CALLS + calls)
        wrong = 0
        for scope, body, _ in todo[: WARM_CALLS * 4]:
            await post(app, scope, body)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        batches = []
        rest = todo[WARM_CALLS * 4 :]
        servers = [proc.pid for proc in STOP]
        server_cpu = cpu_seconds(servers)
        for start in range(0, len(rest), BATCH * 4):
            batch = rest[start : start + BATCH * 4]
            cpu = time.process_time()
            for scope, body, status in batch:
                got, text = await post(app, scope, body)
                wrong += (got != status and key != "a") or b"Sorry" in text
            batches.append((time.process_time() - cpu) / len(batch) * 1e6)
        server_cpu = (cpu_seconds(servers) - server_cpu) / len(rest) * 1e6
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        for proc in STOP:
            proc.terminate()
            proc.wait(10)
        STOP.clear()
    return min(batches), statistics.median(batches), wrong, server_cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("servers", nargs="*", default=["a", "b", "c", "d"])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    import uvloop

    for key in args.servers:
        best, median, wrong, server = uvloop.run(
            measure(key, min(args.calls, 50_000), args.profile)
        )
        label = next(s.label for s in SERVERS if s.key == key)
        print(
            f"({key}) {label}: {best:.0f} µs CPU per webhook at best, {median:.0f} median"
            f"{f'; redis-server {server:.0f} on average' if server else ''}"
            f"{f', {wrong} wrong answers' if wrong else ''}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
