"""End to end over real HTTP: `ivr call` / `ivr text` processes, then an `ivr serve` process.

The command line talks to the REST stand-in; the server shares its SQLite file and answers the
webhooks Twilio would make for the new call or text.
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
from conftest import Server, free_port, http_client, ready
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
    write_flows,
)

from ivr.store import open_store
from ivr.tools.phone import Call, http_transport


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def env(tmp_path: Path, standin: rest.Standin, port: int) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "IVR_"))}
    store = f"sqlite:///{tmp_path}/shared.sqlite3"
    return {**base, **twilio_env(standin, store, public=f"http://127.0.0.1:{port}")}


def ivr(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ivr.cli", *args], env=env, cwd=cwd, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def serve(tmp_path: Path, env: dict[str, str], port: int) -> Iterator[Callable[[], str]]:
    """Start `ivr serve` lazily: the test runs the command line first, as a person would."""
    procs: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "serve.log"

    def start() -> str:
        with log.open("wb") as out:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "ivr.cli", "serve", str(tmp_path / "flows"),
                 "--port", str(port)],
                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            ))  # fmt: skip
        return ready(Server(port, procs[-1], env["IVR_STORE"], log)).url

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def preset_in_file(database: Path, seen: list[dict[str, str] | None]) -> rest.CallHook:
    """A look, from the REST stand-in, into the SQLite file for the preset a new call names."""

    def look(request: rest.Received) -> None:
        token = token_of(request)
        with contextlib.closing(sqlite3.connect(database)) as db:
            row = db.execute("SELECT data FROM call_presets WHERE token = ?", (token,)).fetchone()
        seen.append(json.loads(row[0])["vars"] if row else None)

    return look


def test_ivr_call_then_ivr_serve_answers_the_call_with_its_variables(
    tmp_path: Path, env: dict[str, str], standin: rest.Standin, serve: Callable[[], str]
) -> None:
    write_flows(tmp_path)
    seen: list[dict[str, str] | None] = []
    standin.on_call = preset_in_file(tmp_path / "shared.sqlite3", seen)
    done = ivr("call", "reminder", "--to", PERSON, "--from", OURS, "--var", "name=Ann",
               "--var", "day=Tuesday", env=env, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    sid = done.stdout.strip()
    [request] = standin.posts("Calls")
    # When Twilio was asked, the variables were in the store already.
    [found] = seen
    assert found is not None and (found["name"], found["day"]) == ("Ann", "Tuesday")
    public = env["IVR_PUBLIC_URL"]
    assert request.field("Url") == f"{public}/voice/reminder?call={token_of(request)}"

    url = serve()
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
    tmp_path: Path, env: dict[str, str], standin: rest.Standin, serve: Callable[[], str]
) -> None:
    write_flows(tmp_path)
    env["IVR_API_TOKEN"] = "api-token-0123456789"
    seen: list[dict[str, str] | None] = []
    standin.on_call = preset_in_file(tmp_path / "shared.sqlite3", seen)
    url = serve()
    body = {"to": PERSON, "from": OURS, "vars": {"name": "Bea", "day": "Friday"}}
    headers = {"Authorization": f"Bearer {env['IVR_API_TOKEN']}"}
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
    tmp_path: Path, env: dict[str, str], standin: rest.Standin, serve: Callable[[], str]
) -> None:
    write_flows(tmp_path)
    done = ivr("text", "reminder", "--to", PERSON, "--from", OURS, "--var", "name=Ann",
               env=env, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("SM")
    assert standin.posts("Messages")[0].field("Body").startswith("Hello Ann,")

    url = serve()
    with http_client() as client:
        reply = post_webhook(client, url, "/sms/reminder", texted("yes"),
                             public=env["IVR_PUBLIC_URL"])  # fmt: skip
    assert messages(reply) == ["Thanks Ann, see you on your booked day."]


def test_a_refusal_from_the_command_line_is_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], standin: rest.Standin
) -> None:
    write_flows(tmp_path)
    done = ivr("call", "reminder", "--to", "+15005550001", "--from", OURS,
               env=env, cwd=tmp_path)  # fmt: skip
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
    tmp_path: Path, env: dict[str, str], standin: rest.Standin, serve: Callable[[], str]
) -> None:
    reminder = (Path(__file__).parent.parent / "flows" / "appointment_reminder.yaml").read_text()
    write_flows(tmp_path, appointment_reminder=reminder)
    done = ivr("call", "appointment_reminder", "--to", PERSON, "--from", OURS, "--detect-machine",
               "--var", "name=Ana", "--var", "when=on Tuesday at 10 am",
               env=env, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [request] = standin.posts("Calls")
    assert request.field("MachineDetection") == "DetectMessageEnd"

    # Twilio asks the flow only once the machine's greeting has ended, saying so in AnsweredBy.
    transport = http_transport(serve())
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
    tmp_path: Path, env: dict[str, str], standin: rest.Standin
) -> None:
    write_flows(tmp_path)
    done = ivr("call", "reminder", "--to", PERSON, "--from", OURS, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [request] = standin.posts("Calls")
    assert "MachineDetection" not in request.form
