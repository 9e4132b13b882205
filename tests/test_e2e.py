"""`ivr serve` as a subprocess, over HTTP on 127.0.0.1: restarts, edits, proxies, refusals.

A test about the process (a kill -9, a refused start, its options, two workers) starts its own;
the others share the module's server, on flows looked at again on every webhook, each starting
as on a fresh one: its store emptied of conversations, fresh call SIDs. The test that edits a
flow edits a file of its own, that no other test calls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from conftest import (
    TOKEN,
    Server,
    Twilio,
    call_form,
    copy_flows,
    free_port,
    http_client,
    sign,
    sms_form,
    start_server,
    stop,
)

from ivr.cli import main
from ivr.store import open_store


def sid() -> str:
    return "CA" + os.urandom(16).hex()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The module's `ivr serve`. It looks at its flow files on every webhook, so that a test
    editing one needn't wait for a recheck."""
    folder = tmp_path_factory.mktemp("served")
    store, log = f"sqlite:///{folder}/ivr.sqlite3", folder / "server.log"
    with start_server(copy_flows(folder), store, log, env={"IVR_FLOW_RECHECK": "0"}) as server:
        yield server


def test_health_lists_flows(live: Twilio) -> None:
    body = live.client.get(live.base + "/health").json()
    assert body["status"] == "ok"
    assert {"menu", "actions", "texting", "front_desk"} <= set(body["flows"])


def test_kill_9_between_webhooks_loses_nothing_and_the_call_keeps_its_flow_version(
    flows_dir: Path, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path}/calls.sqlite3"
    log = tmp_path / "server.log"
    server = start_server(flows_dir, store, log)
    call = sid()
    with http_client() as client:
        twilio = Twilio(client, server.url, open_store(store))
        reply = twilio.post("/voice/menu", call_form(call))
        reply = twilio.follow(reply, "Gather", call_form(call, Digits="7"))  # one failure
        reply = twilio.follow(reply, "Gather", call_form(call, Digits="1"))
        assert "Sales here" in reply.said()
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        # While it is down the flow is edited: the restarted server serves the edit to new
        # calls, and the call under way finishes on the version it started on, from the store.
        menu = flows_dir / "menu.yaml"
        menu.write_text(
            menu.read_text().replace('say: "Thanks {{ name }}', 'say: "Cheers {{ name }}')
        )
        again = start_server(flows_dir, store, log, port=server.port)
        try:
            done = twilio.follow(reply, "Gather", call_form(call, Digits="54321"))
            assert "Thanks" in done.said() and "5 4 3 2 1" in done.said()
            assert done.verbs()[-1] == "Hangup"
            other = sid()
            new = twilio.post("/voice/menu", call_form(other))
            new = twilio.follow(new, "Gather", call_form(other, Digits="1"))
            new = twilio.follow(new, "Gather", call_form(other, Digits="12345"))
            assert "Cheers" in new.said() and "Thanks" not in new.said()
        finally:
            stop(again)


def test_concurrent_texts_count_each_answer_once(shared_server: Server, live: Twilio) -> None:
    frm = "+15554440000"
    live.post("/sms/texting", sms_form("hi", frm))
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda b: live.post("/sms/texting", sms_form(b, frm)), ["hours"] * 6))
    from ivr.store.sqlite import SQLiteStore

    store = SQLiteStore(shared_server.store.removeprefix("sqlite:///"))
    session = store.load("sms:+15559990000:" + frm)
    assert session is not None
    answers = [s for s in session.path if s.event == "answer"]
    assert len(answers) == 6  # none lost, none applied twice
    assert session.seq == 7  # the first wait plus one per answer


def test_flow_with_errors_stops_the_start(flows_dir: Path, tmp_path: Path) -> None:
    (flows_dir / "broken.yaml").write_text("states:\n  a:\n    say: hi\n    next: nowhere\n")
    proc = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "serve", str(flows_dir), "--port", str(free_port())],
        capture_output=True,
        text=True,
        env={**os.environ, "TWILIO_AUTH_TOKEN": TOKEN},
        timeout=60,
    )
    assert proc.returncode == 1
    assert "broken.yaml:4:" in proc.stderr and "nowhere" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_no_token_refuses_to_start_unless_insecure(flows_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TWILIO_AUTH_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "serve", str(flows_dir), "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "TWILIO_AUTH_TOKEN" in proc.stderr and "--insecure" in proc.stderr
    server = start_server(
        flows_dir,
        f"sqlite:///{tmp_path}/i.sqlite3",
        tmp_path / "i.log",
        "--insecure",
        env={"TWILIO_AUTH_TOKEN": ""},
    )
    try:
        with http_client() as client:
            r = client.post(server.url + "/voice/menu", data=call_form(sid()))
        assert r.status_code == 200
    finally:
        server.proc.terminate()
        server.proc.wait(10)
    assert "without signature checks" in (tmp_path / "i.log").read_text()


def test_public_url_is_what_signatures_and_callbacks_use(flows_dir: Path, tmp_path: Path) -> None:
    public = "https://ivr.example.com/base"
    server = start_server(
        flows_dir, f"sqlite:///{tmp_path}/p.sqlite3", tmp_path / "p.log", "--public-url", public
    )
    with server, http_client() as client:
        form = call_form(sid())
        local = client.post(
            server.url + "/voice/menu",
            data=form,
            headers={"X-Twilio-Signature": sign(server.url + "/voice/menu", form)},
        )
        assert local.status_code == 403
        good = client.post(
            server.url + "/voice/menu",
            data=form,
            headers={"X-Twilio-Signature": sign(public + "/voice/menu", form)},
        )
        assert good.status_code == 200
        assert f'action="{public}/voice/menu/gather?seq=1"' in good.text
    assert TOKEN not in (tmp_path / "p.log").read_text()


def test_an_edit_never_breaks_a_live_call(shared_server: Server, live: Twilio) -> None:
    # A copy of the menu of the test's own, added to the running server's folder: no other
    # test calls it, so its edits change nothing for them.
    flows = shared_server.log.parent / "flows"
    mine = flows / "edited_menu.yaml"
    source = (flows / "menu.yaml").read_text()
    mine.write_text(source)
    # Dated a minute back, as if there before: the edit below, made within the clock's tick
    # (a few ms), could otherwise leave the file with the very time the server saw.
    os.utime(mine, (time.time() - 60, time.time() - 60))
    try:
        call = sid()
        reply = live.post("/voice/edited_menu", call_form(call))
        assert "Press 1 for sales" in reply.said()
        # A broken edit: the server keeps the version before it.
        mine.write_text(source.replace("next: thanks", "next: thnks", 1))
        other = live.post("/voice/edited_menu", call_form(sid()))
        assert "Press 1 for sales" in other.said()
        log = shared_server.log.read_text()
        assert "flow edited_menu was edited but has errors" in log
        assert "thnks" in log and "did you mean" in log
        # A good edit: new calls get it, the call under way stays on its version.
        mine.write_text(source.replace("Press 1 for sales", "Press 1 to buy"))
        assert "Press 1 to buy" in live.post("/voice/edited_menu", call_form(sid())).said()
        again = live.follow(reply, "Redirect", call_form(call))
        assert "Press 1 for sales" in again.said()
    finally:
        mine.unlink()


def test_two_workers_on_one_sqlite_file_share_the_calls(flows_dir: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/ivr.sqlite3"
    server = start_server(flows_dir, store, tmp_path / "w.log", "--workers", "2")
    with server:
        workers = worker_pids(server)
        assert len(workers) == 2, workers
        # Both started (their start writes too), so what they write from here on is the calls'.
        deadline = time.monotonic() + 30
        while server.log.read_text().count("Application startup complete.") < 2:
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.05)
        before = {pid: written(pid) for pid in workers}
        done: list[str] = []
        deadline = time.monotonic() + 60
        # The kernel hands each new connection to one worker; rounds of calls at once, each
        # webhook on a connection of its own, until both workers have answered some of them.
        while time.monotonic() < deadline:
            with ThreadPoolExecutor(8) as pool:
                done += pool.map(lambda _: one_call(server.url), range(8))
            if all(written(pid) - before[pid] > WORKED for pid in workers):
                break
        assert all(written(pid) - before[pid] > WORKED for pid in workers), "a worker was idle"
        kept = {s.key: s for s in open_store(store).history("menu", last=len(done) + 10)}
        assert len(done) >= 8 and all(kept[call].state == "thanks" for call in done)


# What a worker writes (sockets and its SQLite file included) for a few webhooks: each
# commit alone writes a page of 4 KB; uvicorn's health pings between processes are bytes.
WORKED = 16_000


def worker_pids(server: Server) -> list[int]:
    """The uvicorn workers of `ivr serve --workers N`: the parent's spawned children."""
    pid = server.proc.pid
    children = (Path(f"/proc/{pid}/task/{pid}/children").read_text()).split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def written(pid: int) -> int:
    """Bytes the process has written so far, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no wchar in /proc/{pid}/io")


def one_call(url: str) -> str:
    """A whole call to the menu, each webhook on a new connection; the call's sid."""
    call = sid()
    with http_client(limits=httpx2.Limits(max_keepalive_connections=0)) as client:
        twilio = Twilio(client, url, None)  # type: ignore[arg-type]
        reply = twilio.post("/voice/menu", call_form(call))
        reply = twilio.follow(reply, "Gather", call_form(call, Digits="1"))
        reply = twilio.follow(reply, "Gather", call_form(call, Digits="12345"))
    assert "1 2 3 4 5" in reply.said() and reply.verbs()[-1] == "Hangup", reply.text
    return call


def test_history_and_messages_list_what_happened(
    shared_server: Server, live: Twilio, capsys: pytest.CaptureFixture[str]
) -> None:
    call = sid()
    reply = live.post("/voice/actions", call_form(call, From="+15550007777"))
    reply = live.follow(reply, "Gather", call_form(call, Digits="1"))
    url = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE9"
    live.follow(reply, "Record", call_form(call, RecordingUrl=url, RecordingDuration="4"))
    live.post(
        "/voice/actions/transcription",
        call_form(call, RecordingUrl=url, TranscriptionText="Call me"),
    )
    live.post("/voice/actions/status", call_form(call, CallStatus="completed"))

    # The commands' processes are tested elsewhere: here, what they list.
    def ivr(*args: str) -> str:
        capsys.readouterr()
        assert main([*args, "--store", shared_server.store]) == 0
        return capsys.readouterr().out

    history = ivr("history", "--flow", "actions")
    assert "+15550007777" in history and "completed" in history
    assert "answer   gold '1'" in history and "enter    message" in history
    messages = ivr("messages")
    assert f"recording: {url} (4 s)" in messages
    assert "transcription: Call me" in messages and "(state message)" in messages
