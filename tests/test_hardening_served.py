"""`ivr serve` as a subprocess: what only a real server shows (connections, files, restarts)."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from conftest import (
    ROOT,
    TOKEN,
    Server,
    Twilio,
    call_form,
    free_port,
    http_client,
    launch,
    ready,
    sms_form,
    start_server,
    stop,
)

from ivr import __version__
from ivr.store import open_store

HALF_SENT = 1_100  # more than the server's file limit below
FILE_LIMIT = 1_024


def test_a_call_whose_flow_file_was_deleted_before_a_restart_finishes(
    flows_dir: Path, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path}/ivr.sqlite3"
    log = tmp_path / "server.log"
    server = start_server(flows_dir, store, log)
    call = "CA" + os.urandom(16).hex()
    with http_client() as client:
        twilio = Twilio(client, server.url, open_store(store))
        reply = twilio.post("/voice/menu", call_form(call))
        reply = twilio.follow(reply, "Gather", call_form(call, Digits="1"))
        assert "Sales here" in reply.said()
        stop(server)
        (flows_dir / "menu.yaml").unlink()
        again = start_server(flows_dir, store, log, port=server.port)
        try:
            done = twilio.follow(reply, "Gather", call_form(call, Digits="12345"))
            assert done.status == 200 and "1 2 3 4 5" in done.said()
            assert done.verbs()[-1] == "Hangup"
            # New calls to the deleted flow are refused as before.
            assert twilio.post("/voice/menu", call_form("CA" + "1" * 32)).status == 404
        finally:
            stop(again)


def test_a_read_only_database_at_start_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    made = open_store(f"sqlite:///{folder}/ivr.sqlite3")
    made.open()  # the database there, with its tables
    made.close()
    for file in folder.iterdir():
        file.chmod(0o444)
    folder.chmod(0o555)
    command = [sys.executable, "-m", "ivr.cli", "serve", str(ROOT / "tests" / "flows")]
    command += ["--store", f"sqlite:///{folder}/ivr.sqlite3", "--port", str(free_port())]
    if os.geteuid() == 0:
        # root writes to read-only files: without these capabilities it can't, like anyone.
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run this test as root"
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *command]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)},
        )
    finally:
        folder.chmod(0o755)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == (
        f"error: the store sqlite:///{folder}/ivr.sqlite3 can't be used: "
        "attempt to write a readonly database\n"
    )


@pytest.fixture
def limited(flows_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`ivr serve` that may open 1,024 files, and gives a request 2 s to arrive whole."""
    port, log = free_port(), tmp_path / "server.log"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))

    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ivr.cli", "serve", str(flows_dir), "--port", str(port)]
            + ["--store", f"sqlite:///{tmp_path}/ivr.sqlite3"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "IVR_HEADER_TIMEOUT": "2"},
            preexec_fn=limit,
        )
    try:
        yield ready(Server(port, proc, f"sqlite:///{tmp_path}/ivr.sqlite3", log)).url, log
    finally:
        proc.terminate()
        proc.wait(10)


def _healthy(client: httpx2.Client, url: str) -> bool:
    try:
        return client.get(url + "/health").status_code == 200
    except httpx2.HTTPError:
        return False


def test_idle_half_sent_requests_never_stop_health_or_webhooks(
    limited: tuple[str, Path],
) -> None:
    url, log = limited
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < HALF_SENT + 200:  # this test's own sockets, within its own file limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, HALF_SENT + 200), hard))
    port = int(url.rsplit(":", 1)[1])
    held: list[socket.socket] = []
    try:
        for _ in range(HALF_SENT):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /sms/texting HTTP/1.1\r\nHost: x\r\nContent-Length: 90\r\n")
            held.append(s)
        # Every one is still open on this side; the server made room for the newcomers.
        # Each request on a connection of its own: a newcomer each time.
        deadline = time.monotonic() + 20
        fresh = httpx2.Limits(max_keepalive_connections=0)
        with http_client(timeout=2, limits=fresh) as client:
            while not _healthy(client, url):
                assert time.monotonic() < deadline, "the server stopped answering /health"
            twilio = Twilio(client, url, None)  # type: ignore[arg-type]
            reply = twilio.post("/sms/texting", sms_form("hi"))
            assert reply.status == 200 and reply.messages()[0] == "Hi from the texting line."
        # A request that never arrives whole is dropped when its time is up.
        late = socket.create_connection(("127.0.0.1", port), timeout=10)
        late.sendall(b"GET /health HTTP/1.1\r\n")
        assert late.recv(100) == b""
        late.close()
        # Nor does a head that never ends: it is cut off at 64 KiB, long before its time is up.
        endless = socket.create_connection(("127.0.0.1", port), timeout=1)
        assert _closed_after(endless, b"GET /health HTTP/1.1\r\nX-Long: " + b"a" * 100_000)
    finally:
        for s in held:
            s.close()
    assert "at most 924 connections, not 1000" in log.read_text()


def _closed_after(conn: socket.socket, data: bytes) -> bool:
    # The server may close while this is still sending: a reset is as closed as an EOF.
    try:
        conn.sendall(data)
        return conn.recv(100) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        conn.close()


def test_logs_have_times_a_banner_and_json_and_access_lines(
    flows_dir: Path, tmp_path: Path
) -> None:
    log, json_log = tmp_path / "server.log", tmp_path / "json.log"
    # Both start at once, each on a store of its own.
    texts = launch(
        flows_dir, f"sqlite:///{tmp_path}/t.sqlite3", log, "--public-url", "https://ivr.example.com"
    )
    jsons = launch(
        flows_dir,
        f"sqlite:///{tmp_path}/j.sqlite3",
        json_log,
        "--log-format",
        "json",
        "--access-log",
    )
    try:
        ready(texts)
        ready(jsons)
        httpx2.get(jsons.url + "/health?from=test")
    finally:
        stop(texts)
        stop(jsons)
    text = log.read_text()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO ivr: "
    assert re.search(stamp + re.escape(f"ivr {__version__}: "), text)
    assert re.search(stamp + "flow menu: voice https://ivr.example.com/voice/menu, sms ", text)
    assert "public URL https://ivr.example.com" in text

    entries = [json.loads(line) for line in json_log.read_text().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert any('"GET /health?from=test HTTP/1.1" 200' in e["message"] for e in access)
