"""A small HTTP/1.1 client over asyncio streams, to check a server's answers before a run and to
open calls (live calls, the retention run) without wrk."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from calls import HOST, TOKEN, call, raw_request, sid_of
from servers import Server
from twilio.request_validator import RequestValidator


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, str]:
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body.decode()


async def send_all(
    port: int, groups: Sequence[Sequence[tuple[bytes, int]]], connections: int
) -> int:
    """Send groups of requests over keep-alive connections, each group in order on one (a
    call's webhooks); the number of unexpected answers."""
    queue = list(reversed(groups))
    wrong = 0

    async def worker() -> None:
        nonlocal wrong
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while queue:
                for raw, expected in queue.pop():
                    status, body = await exchange(reader, writer, raw)
                    wrong += status != expected or "Sorry" in body
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(connections))), 300)
    return wrong


async def smoke(server: Server) -> None:
    """One call, checked step by step: the routes the data files use are the ones served."""
    validator = RequestValidator(TOKEN)
    hooks = call(server.spec.style, sid_of("5e", 1), 1)
    reader, writer = await asyncio.open_connection(HOST, server.port)
    try:
        forged = raw_request(server.port, hooks[0], RequestValidator("not-the-token"))
        status, _ = await exchange(reader, writer, forged)
        if server.spec.app != "bare" and status != 403:
            raise RuntimeError(f"{server.spec.label}: a forged signature got {status}, not 403")
        for i, hook in enumerate(hooks):
            status, body = await exchange(reader, writer, raw_request(server.port, hook, validator))
            ok = status == hook.status or (not server.spec.strict and 200 <= status < 300)
            if not ok or "Sorry" in body:
                raise RuntimeError(f"{server.spec.label}: {hook.path} got {status}: {body}")
            if server.spec.strict and i < 2:
                action = f'action="{hooks[i + 1].path}"'
                if action not in body:
                    raise RuntimeError(f"{server.spec.label}: expected {action} in {body}")
            if server.spec.strict and i == 2 and "<Hangup" not in body:
                raise RuntimeError(f"{server.spec.label}: the call should end: {body}")
    finally:
        writer.close()
