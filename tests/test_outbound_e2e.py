"""End to end over real HTTP: `ivr call` / `ivr text` processes, then an `ivr serve` process.

The command line talks to the REST stand-in; the server shares its SQLite file and answers the
webhooks Twilio would make for the new call or text. One server and one stand-in serve the
module, each test starting as on fresh ones: the store emptied of conversations and call
presets, the stand-in of the requests it was sent. One `ivr call` and one `ivr text` run as
processes; the other tests of the command line run its entry point in this process.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import twilio_rest_standin as rest
from conftest import ROOT, Server, forget_conversations, free_port, http_client, ready, stop
from outbound_support import (
    OURS,
    PERSON,
    answered,
    call_path,
    gather_action,
    messages,
    post_webhook,
    pressed,
    said,
    texted,
    token_of,
    twilio_env,
    use_env,
    write_flows,
)

from ivr.cli import main
from ivr.store import open_store
from ivr.tools.phone import Call, http_transport

API_TOKEN = "api-token-0123456789"
Ran = subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def standin() -> Iterator[rest.Standin]:
    """The REST stand-in, one for the module: the server and the command line both use it."""
    server = rest.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the command line runs: its flows (the reminder and the example one) and store."""
    root = tmp_path_factory.mktemp("outbound")
    reminder = (ROOT / "flows" / "appointment_reminder.yaml").read_text()
    write_flows(root, appointment_reminder=reminder)
    return root


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


def environment(folder: Path, standin: rest.Standin, port: int) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "IVR_"))}
    store = f"sqlite:///{folder}/shared.sqlite3"
    return {**base, **twilio_env(standin, store, public=f"http://127.0.0.1:{port}")}


@pytest.fixture(scope="module")
def server(folder: Path, standin: rest.Standin, port: int) -> Iterator[Server]:
    """`ivr serve` on the module's flows and store, its API open to `API_TOKEN`."""
    env = {**environment(folder, standin, port), "IVR_API_TOKEN": API_TOKEN}
    log = folder / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ivr.cli", "serve", str(folder / "flows"),
             "--port", str(port)],
            env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    served = Server(port, proc, env["IVR_STORE"], log)
    try:
        yield ready(served)
    finally:
        stop(served)


@pytest.fixture
def env(folder: Path, standin: rest.Standin, server: Server) -> dict[str, str]:
    """The command line's environment, with the server and the stand-in as fresh ones."""
    forget_conversations(server.store)
    with contextlib.closing(sqlite3.connect(folder / "shared.sqlite3")) as db, db:
        db.execute("DELETE FROM call_presets")
    with standin.lock:
        standin.requests.clear()
    standin.on_call = None
    return environment(folder, standin, server.port)


def ivr(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ivr.cli", *args], env=env, cwd=cwd, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def ivr_here(
    env: dict[str, str],
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., Ran]:
    """`ivr` run by its entry point in this process, with `env` and in `folder` as `ivr` is."""
    use_env(monkeypatch, {k: v for k, v in env.items() if k.startswith(("TWILIO_", "IVR_"))})
    monkeypatch.chdir(folder)

    def run(*args: str) -> Ran:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["ivr", *args], code, out, err)

    return run


def preset_in_file(database: Path, seen: list[dict[str, str] | None]) -> rest.CallHook:
    """A look, from the REST stand-in, into the SQLite file for the preset a new call names."""

    def look(request: rest.Received) -> None:
        token = token_of(request)
        with contextlib.closing(sqlite3.connect(database)) as db:
            row = db.execute("SELECT data FROM call_presets WHERE token = ?", (token,)).fetchone()
        seen.append(json.loads(row[0])["vars"] if row else None)

    return look


def test_ivr_call_then_ivr_serve_answers_the_call_with_its_variables(
    folder: Path, env: dict[str, str], standin: rest.Standin, server: Server
) -> None:
    seen: list[dict[str, str] | None] = []
    standin.on_call = preset_in_file(folder / "shared.sqlite3", seen)
    done = ivr("call", "reminder", "--to", PERSON, "--from", OURS, "--var", "name=Ann",
               "--var", "day=Tuesday", env=env, cwd=folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    sid = done.stdout.strip()
    [request] = standin.posts("Calls")
    # When Twilio was asked, the variables were in the store already.
    [found] = seen
    assert found is not None and (found["name"], found["day"]) == ("Ann", "Tuesday")
    public = env["IVR_PUBLIC_URL"]
    assert request.field("Url") == f"{public}/voice/reminder?call={token_of(request)}"

    url = server.url
    path = call_path(request, public)
    with http_client() as client:
        first = post_webhook(client, url, path, answered(sid), public=public)
        assert "Hello Ann, this is Acme Plumbing about your visit on Tuesday." in said(first)
        # Twilio asks again (a retry): the same words, and still one conversation.
        again = post_webhook(client, url, path, answered(sid), public=public)
        assert said(again) == said(first)
        action = gather_action(again).removeprefix(public)
        second = post_webhook(client, url, action, pressed(sid, "1"), public=public)
        assert said(second) == "Thanks Ann, see you on Tuesday."
    store = open_store(env["IVR_STORE"])
    try:
        [past] = store.history()
    finally:
        store.close()
    assert (past.key, past.state, past.vars["name"]) == (sid, "confirmed", "Ann")


def test_a_call_through_the_api_of_ivr_serve_has_its_variables_saved_before_twilio_rings(
    folder: Path, env: dict[str, str], standin: rest.Standin, server: Server
) -> None:
    seen: list[dict[str, str] | None] = []
    standin.on_call = preset_in_file(folder / "shared.sqlite3", seen)
    url = server.url
    body = {"to": PERSON, "from": OURS, "vars": {"name": "Bea", "day": "Friday"}}
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    with http_client() as client:
        r = client.post(f"{url}/api/flows/reminder/calls", json=body, headers=headers)
        assert r.status_code == 201, r.text
        [found] = seen
        assert found is not None and (found["name"], found["day"]) == ("Bea", "Friday")
        [request] = standin.posts("Calls")
        public = env["IVR_PUBLIC_URL"]
        first = post_webhook(
            client, url, call_path(request, public), answered(r.json()["sid"]), public=public
        )
    assert "Hello Bea, this is Acme Plumbing about your visit on Friday." in said(first)


def test_ivr_text_then_ivr_serve_takes_the_reply(
    folder: Path, env: dict[str, str], standin: rest.Standin, server: Server
) -> None:
    done = ivr("text", "reminder", "--to", PERSON, "--from", OURS, "--var", "name=Ann",
               env=env, cwd=folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("SM")
    assert standin.posts("Messages")[0].field("Body").startswith("Hello Ann,")

    with http_client() as client:
        reply = post_webhook(client, server.url, "/sms/reminder", texted("yes"),
                             public=env["IVR_PUBLIC_URL"])  # fmt: skip
    assert messages(reply) == ["Thanks Ann, see you on your booked day."]


def test_a_refusal_from_the_command_line_is_one_line_and_exit_2(
    env: dict[str, str], standin: rest.Standin, ivr_here: Callable[..., Ran]
) -> None:
    done = ivr_here("call", "reminder", "--to", "+15005550001", "--from", OURS)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "error: Twilio refused the call to +15005550001: 21211 — the 'To' number is not a "
        "valid phone number (https://www.twilio.com/docs/errors/21211)\n"
    )
    # No call, so nothing in the history, and its preset is forgotten.
    store = open_store(env["IVR_STORE"])
    try:
        assert store.history() == []
        assert store.preset(token_of(standin.posts("Calls")[0])) is None
    finally:
        store.close()


def test_a_reminder_placed_with_machine_detection_leaves_its_message_after_the_beep(
    env: dict[str, str], standin: rest.Standin, server: Server, ivr_here: Callable[..., Ran]
) -> None:
    done = ivr_here("call", "appointment_reminder", "--to", PERSON, "--from", OURS,
                    "--detect-machine", "--var", "name=Ana",
                    "--var", "when=on Tuesday at 10 am")  # fmt: skip
    assert done.returncode == 0, done.stderr
    [request] = standin.posts("Calls")
    assert request.field("MachineDetection") == "DetectMessageEnd"

    # Twilio asks the flow only once the machine's greeting has ended, saying so in AnsweredBy.
    transport = http_transport(server.url)
    try:
        call = Call(transport, "appointment_reminder", PERSON, OURS, token=rest.AUTH_TOKEN,
                    outbound=True, answered_by="machine_end_beep", url=request.field("Url"),
                    status_callback=request.field("StatusCallback"))  # fmt: skip
        call.sid = done.stdout.strip()
        assert call.start() == [
            "Hello Ana, this is Maple Street Dental with a reminder about your appointment on "
            "Tuesday at 10 am. To confirm or cancel, please call us back or reply to our text. "
            "Goodbye."
        ]
        assert call.ended
    finally:
        transport.close()
    store = open_store(env["IVR_STORE"])
    try:
        [past] = store.history(flow="appointment_reminder", last=5)
    finally:
        store.close()
    assert past.vars["answered_by"] == "machine_end_beep" and past.state == "leave_reminder"


def test_without_detection_twilio_is_not_asked_for_it(
    standin: rest.Standin, ivr_here: Callable[..., Ran]
) -> None:
    done = ivr_here("call", "reminder", "--to", PERSON, "--from", OURS)
    assert done.returncode == 0, done.stderr
    [request] = standin.posts("Calls")
    assert "MachineDetection" not in request.form
