"""Twilio's refusals and an unreachable Twilio: one clear line each, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import twilio_rest_standin as rest
from conftest import free_port
from outbound_support import OURS

from ivr.engine.session import conversation_key
from ivr.outbound.commands import outbound
from ivr.store import open_store

DOCS = "https://www.twilio.com/docs/errors"


def run(command: str, flows: Path, to: str) -> int:
    return outbound(
        command,
        "reminder",
        to=to,
        from_=OURS,
        variables=["name=Ann"],
        csv_path=None,
        rate=1.0,
        results=None,
        flows_dir=str(flows),
        store=None,
    )


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1, captured.err
    return captured.err.rstrip("\n")


@pytest.mark.parametrize(
    ("command", "to", "expected"),
    [
        (
            "call",
            "+15005550001",
            "Twilio refused the call to +15005550001: 21211 — the 'To' "
            f"number is not a valid phone number ({DOCS}/21211)",
        ),
        (
            "text",
            "+15005550001",
            "Twilio refused the text to +15005550001: 21211 — the 'To' "
            f"number is not a valid phone number ({DOCS}/21211)",
        ),
        (
            "text",
            "+15005550004",
            "Twilio refused the text to +15005550004: 21610 — the "
            f"recipient replied STOP and has unsubscribed from this number ({DOCS}/21610)",
        ),
        (
            "call",
            "+15005550008",
            "Twilio refused the call to +15005550008: 21608 — the 'To' "
            "number is not verified; a trial account can only reach verified numbers "
            f"({DOCS}/21608)",
        ),
        (
            "text",
            "+15005550009",
            "Twilio refused the text to +15005550009: 21614 — the 'To' "
            f"number is not a mobile number and can't receive texts ({DOCS}/21614)",
        ),
        (
            "text",
            "+15005550002",
            "Twilio refused the text to +15005550002: 21612 — Twilio "
            f"can't route a text between these two numbers ({DOCS}/21612)",
        ),
        (
            "text",
            "+15005550003",
            "Twilio refused the text to +15005550003: 21408 — the account "
            f"has no permission to text this region (Geo Permissions) ({DOCS}/21408)",
        ),
        (
            "call",
            rest.BROKEN,
            f"Twilio failed to take the call to {rest.BROKEN}: 20500 — Internal "
            f"Server Error ({DOCS}/20500)",
        ),
    ],
)
def test_twilio_errors_are_one_clear_line(
    flows: Path,
    standin: rest.Standin,
    capsys: pytest.CaptureFixture[str],
    command: str,
    to: str,
    expected: str,
) -> None:
    assert run(command, flows, to) == 2
    assert one_line(capsys) == f"error: {expected}"
    assert len(standin.requests) == 1


def test_wrong_credentials_are_twilio_error_20003(
    flows: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-token")
    assert run("call", flows, "+15551234567") == 2
    line = one_line(capsys)
    assert line.startswith(
        "error: Twilio refused the call to +15551234567: 20003 — "
        "authentication failed: check TWILIO_ACCOUNT_SID"
    )
    assert line.endswith(f"({DOCS}/20003)")


def test_an_unreachable_twilio_is_one_line_too(
    flows: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWILIO_API_BASE", f"http://127.0.0.1:{free_port()}")
    assert run("text", flows, "+15551234567") == 2
    line = one_line(capsys)
    assert line.startswith("error: can't reach Twilio to make the text to +15551234567 (")
    assert "check the network connection and TWILIO_API_BASE" in line


def test_a_failed_text_leaves_no_conversation_waiting_for_an_answer(
    flows: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("text", flows, "+15005550009") == 2
    store = open_store(store_url)
    assert store.load(conversation_key(OURS, "+15005550009")) is None
    assert store.history("reminder")[0].outcome == "error"


def test_twilio_saying_unsubscribed_is_remembered_as_an_opt_out(
    flows: Path, standin: rest.Standin, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("text", flows, "+15005550004") == 2
    assert open_store(store_url).opted_out("+15005550004", OURS)
    capsys.readouterr()
    assert run("text", flows, "+15005550004") == 2
    assert "+15005550004 texted STOP and has opted out" in one_line(capsys)
    assert len(standin.requests) == 1  # the second time, nothing went to Twilio
