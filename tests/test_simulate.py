"""`ivr simulate` with piped moves, as a flow author runs it: in this process through the
command line's own entry point (quick), and once as a real command."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.cli import main

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "flowtests_cases" / "flows"
EXAMPLES = ROOT / "flows"
OPEN, CLOSED = "2026-12-01 10:00", "2026-12-01 22:00"  # a Tuesday, in the flows' timezone

Simulate = Callable[..., tuple[int, str, str]]


@pytest.fixture
def simulate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Simulate:
    """`ivr simulate FLOW --flows FLOWS ARGS` with `moves` piped in: (exit code, out, err)."""
    monkeypatch.chdir(ROOT)

    def run(flow: str, moves: str, *args: str, flows: Path = FIXTURES) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(moves))
        code = main(["simulate", flow, "--flows", str(flows), *args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def test_the_command_with_moves_from_a_pipe() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "simulate", "desk", "--flows", str(FIXTURES),
         "--at", OPEN],
        input="2\n12345\n1\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "> 12345\n" in done.stdout and "Traceback" not in done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("the conversation has ended (completed)")


def test_a_call_booking_a_visit(simulate: Simulate) -> None:
    code, out, _ = simulate("desk", "2\n12345\n1\n", "--at", OPEN)
    assert code == 0
    assert out.splitlines() == [
        "Calling desk from +15005550006 to +15005550001. Moves: keys like 1 or 1234#, silence, "
        "say WORDS, record [SECONDS] [WORDS], dial answered|busy|no-answer|failed, "
        "hold SECONDS, take, hangup.",
        "  Thanks for contacting Acme Plumbing.",
        "  For opening hours, press 1. To book a visit, press 2. To leave a message, press 3.",
        "[main_menu] waiting for keys or speech",
        "> 2",
        "  Please enter the 5 digit ZIP code of the visit.",
        "[booking] waiting for keys",
        "> 12345",
        "  You entered 1 2 3 4 5. Press 1 to confirm or 2 to try again.",
        "  (zip = '12345')",
        "[confirm] waiting for keys",
        "> 1",
        "  Thank you. We will call you back to pick a time.",
        "  (booked_zip = '12345')",
        "[booked] the conversation has ended (completed)",
    ]


def test_closed_hours_voicemail_and_the_operator(simulate: Simulate) -> None:
    code, out, _ = simulate("desk", "record 4 call me back\n", "--at", CLOSED)
    assert code == 0
    assert "  We're closed right now." in out and "[voicemail] waiting for a recording" in out
    assert "> record 4 call me back\n  Goodbye.\n" in out
    assert out.rstrip().endswith("[goodbye] the conversation has ended (completed)")
    code, out, _ = simulate("desk", "0\ndial no-answer\nhangup\n", "--at", OPEN)
    assert "  [ringing +15555550100]\n[operator] waiting for the dial to end" in out
    assert "> dial no-answer\n  Please leave your message after the tone." in out
    assert out.rstrip().endswith("[voicemail] the conversation has ended (completed)")


def test_unknown_and_misplaced_moves_get_a_hint(simulate: Simulate) -> None:
    code, out, _ = simulate("desk", "press one\ndial busy\nsay operator\n", "--at", OPEN)
    assert code == 0
    assert "  (not a move: 'press one'; try keys like 1 or 1234#" in out
    assert "  (the call waits for keys or speech, not a dial)" in out
    assert "> say operator\n  Connecting you now." in out
    assert out.rstrip().endswith("(end of input: the caller hangs up)")


def test_texting_with_the_first_text_as_answer(simulate: Simulate) -> None:
    code, out, _ = simulate("line", "HOURS\nhi\nbook\nFriday\n", "--sms")
    assert code == 0
    assert out.splitlines()[1:] == [
        "> HOURS",
        "  We are open 8 to 6.",
        "[hours] the conversation has ended (completed); the next text starts afresh",
        "> hi",
        "  Press 1 or text HOURS for our hours. Press 2 or text BOOK to book.",
        "[menu] waiting for a text",
        "> book",
        "  Which day suits you?",
        "[book] waiting for a text",
        "> Friday",
        "  Booked for Friday.",
        "  (day = 'Friday')",
        "[thanks] the conversation has ended (completed); the next text starts afresh",
    ]


def test_a_flow_with_errors_or_no_such_flow(simulate: Simulate, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("states:\n  a:\n    say: Hi\n    next: b\n")
    code, out, err = simulate("bad", "1\n", flows=tmp_path)
    assert code == 1 and out == ""
    assert f"{tmp_path}/bad.yaml:4:11: error:" in err
    code, _, err = simulate("nope", "", flows=tmp_path)
    assert code == 1 and "no flow named 'nope'" in err
    code, _, err = simulate("desk", "", "--at", "noon")
    assert code == 1 and "--at 'noon' is not a time" in err


# -- the example flows ----------------------------------------------------------------------


def test_front_desk_by_voice(simulate: Simulate) -> None:
    code, out, _ = simulate(
        "front_desk", "1\n2\n12345\n1\n", "--at", OPEN, "--from", "+15551234567", flows=EXAMPLES
    )
    assert code == 0
    assert "> 1\n  We are open 8 to 6 on weekdays and 9 to noon on Saturdays. I've texted" in out
    assert "  (would text +15551234567 from +15005550001: Acme Plumbing, 12 Main St," in out
    assert "> 12345\n  You entered 1 2 3 4 5. Press 1 to confirm or 2 to try again.\n" in out
    assert "  Thank you. We will call you back at + 1 5 5 5 1 2 3 4 5 6 7 to pick a time." in out
    assert out.rstrip().endswith("[booked] the conversation has ended (completed)")
    code, out, _ = simulate("front_desk", "silence\n9\n", "--at", CLOSED, flows=EXAMPLES)
    assert "  We're closed right now.\n" in out and "[voicemail] waiting for a recording" in out
    assert "> silence\n  Goodbye.\n[goodbye] the conversation has ended (completed)" in out
    moves = "record 12 My sink is leaking\n"
    code, out, _ = simulate(
        "front_desk", moves, "--at", OPEN, "--switch", "closed_today=on", flows=EXAMPLES
    )
    assert "  We're closed right now.\n" in out  # in opening hours, by the switch
    assert "  (would email frontdesk@example.com: Voicemail from +15005550006 (front_desk))" in out
    code, _, err = simulate("front_desk", "", "--switch", "closed_today", flows=EXAMPLES)
    assert code == 1 and "write NAME=on or NAME=off" in err


def test_front_desk_on_hold_then_taken(simulate: Simulate) -> None:
    moves = "0\ndial busy\nhold 30\nhold 40\ntake\n"
    code, out, _ = simulate("front_desk", moves, "--at", OPEN, flows=EXAMPLES)
    assert code == 0
    assert "> dial busy\n  You are number 1 in line.\n" in out
    assert "[hold] waiting for a staff member (on hold)" in out
    assert "> hold 40\n  [audio http://com.twilio.music.classical.s3.amazonaws.com/" in out
    assert "> take\n  [a staff member takes the call]\n  Goodbye.\n" in out
    assert out.rstrip().endswith("[goodbye] the conversation has ended (completed)")


def test_sms_keywords_by_text(simulate: Simulate) -> None:
    moves = "HOURS\nmenu\norder\nSam\n2026-12-24\nlemon\nno\n"
    code, out, _ = simulate("sms_keywords", moves, "--sms", "--at", OPEN, flows=EXAMPLES)
    assert code == 0
    assert "> HOURS\n  We're open now! Tuesday to Friday 7am to 3pm" in out
    assert "> Sam\n  Thanks Sam. Which day would you like to collect it?" in out
    assert "  Got it: a lemon cake for Sam, ready on 2026-12-24." in out
    assert "  (last_order = 'lemon for Sam on 2026-12-24')" in out
    assert out.rstrip().endswith(
        "[goodbye] the conversation has ended (completed); the next text starts afresh"
    )


def test_appointment_reminder_by_voice(simulate: Simulate) -> None:
    moves = "9\n3\ndial busy\nrecord 5 call me\n"
    code, out, _ = simulate("appointment_reminder", moves, flows=EXAMPLES)
    assert code == 0
    assert "> 9\n  Sorry, that isn't one of the options.\n" in out
    assert "[staff] waiting for the dial to end\n> dial busy\n" in out
    assert "  Our staff can't take your call right now.\n" in out
    assert "[leave_message] waiting for a recording\n> record 5 call me\n  Goodbye.\n" in out
    assert out.rstrip().endswith("[goodbye] the conversation has ended (completed)")
