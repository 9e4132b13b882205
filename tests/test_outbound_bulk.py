"""`--csv`: every row called or texted, paced, with a progress bar and a result file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import twilio_rest_standin as rest
from outbound_support import (
    OURS,
    answered,
    app_client,
    app_settings,
    call_path,
    post_webhook,
    said,
    token_of,
)

from ivr.outbound.bulk import Pacer, Progress
from ivr.outbound.commands import outbound
from ivr.store import open_store

PEOPLE = """\
to,name,day
+15551110001,Ann,Monday
+15551110002,Bob,Tuesday
5551110003,Cy,Wednesday
+15005550001,Dee,Thursday
+15551110001,Ann again,Friday
"""


@pytest.fixture
def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    return path


def bulk(command: str, flows: Path, people: Path, *variables: str, rate: float = 100.0) -> int:
    return outbound(
        command, "reminder", to=None, from_=OURS, variables=list(variables),
        csv_path=str(people), rate=rate, results=None, flows_dir=str(flows), store=None,
    )  # fmt: skip


def results(people: Path) -> list[dict[str, str]]:
    with open(f"{people}.results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_bulk_text_run_texts_each_row_and_writes_a_result_per_row(
    flows: Path, people: Path, standin: rest.Standin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bulk("text", flows, people) == 1  # some rows were not sent
    bodies = {r.field("To"): r.field("Body") for r in standin.posts("Messages")}
    assert set(bodies) == {"+15551110001", "+15551110002", "+15005550001"}
    assert bodies["+15551110002"].startswith("Hello Bob, this is Acme Plumbing about your visit")
    assert "on Tuesday." in bodies["+15551110002"]

    lines = results(people)
    assert [(r["to"], r["status"]) for r in lines] == [
        ("+15551110001", "sent"),
        ("+15551110002", "sent"),
        ("5551110003", "refused"),
        ("+15005550001", "refused"),
        ("+15551110001", "skipped"),
    ]
    assert all(r["sid"].startswith("SM") for r in lines[:2])
    assert "is not in E.164 form" in lines[2]["message"]
    assert "21211 — the 'To' number is not a valid phone number" in lines[3]["message"]
    assert "listed more than once" in lines[4]["message"]

    err = capsys.readouterr().err
    assert "[" + "#" * 30 + "] 5/5" in err and "] 0/5" in err
    assert "error: the 'to' number '5551110003' is not in E.164 form" in err
    assert "texts: 1 refused" not in err and "2 refused, 2 sent, 1 skipped" in err


def test_a_rerun_skips_the_rows_already_sent(
    flows: Path, people: Path, standin: rest.Standin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bulk("text", flows, people) == 1
    first = {r["to"]: r["sid"] for r in results(people) if r["status"] == "sent"}
    people.write_text(PEOPLE.replace("5551110003,", "+15551110003,"))  # the bad number, fixed
    standin.requests.clear()

    assert bulk("text", flows, people) == 1  # +15005550001 is still refused by Twilio
    assert [r.field("To") for r in standin.posts("Messages")] == ["+15551110003", "+15005550001"]
    lines = results(people)
    assert [(r["to"], r["status"]) for r in lines] == [
        ("+15551110001", "skipped"),
        ("+15551110002", "skipped"),
        ("+15551110003", "sent"),
        ("+15005550001", "refused"),
        ("+15551110001", "skipped"),
    ]
    assert lines[0]["sid"] == first["+15551110001"] and lines[1]["sid"] == first["+15551110002"]

    standin.requests.clear()  # and a third run still remembers what the first one sent
    bulk("text", flows, people)
    assert [r.field("To") for r in standin.posts("Messages")] == ["+15005550001"]


def test_a_bulk_call_run_keeps_each_rows_variables_for_its_call(
    flows: Path, people: Path, standin: rest.Standin, store_url: str
) -> None:
    people.write_text("to,name\n+15551110001,Ann\n+15551110002,Bob\n")
    assert bulk("call", flows, people, "day=Saturday") == 0
    sids = {r["to"]: r["sid"] for r in results(people)}
    asked = {r.field("To"): r for r in standin.posts("Calls")}
    # Each call names a preset of its own: one row's variables never reach another's call.
    assert len({token_of(r) for r in asked.values()}) == 2
    with app_client(app_settings(flows, store_url)) as client:
        for number, name in (("+15551110002", "Bob"), ("+15551110001", "Ann")):
            path = call_path(asked[number])
            twiml = post_webhook(client, "", path, answered(sids[number], number))
            assert f"Hello {name}, this is Acme Plumbing about your visit on Saturday." in said(
                twiml
            )


def test_a_detect_machine_column_asks_for_detection_row_by_row(
    flows: Path, people: Path, standin: rest.Standin
) -> None:
    people.write_text(
        "to,name,detect_machine\n+15551110001,Ann,true\n+15551110002,Bob,\n+15551110003,Cy,no\n"
    )
    assert bulk("call", flows, people) == 0
    asked = {r.field("To"): r.form.get("MachineDetection") for r in standin.posts("Calls")}
    assert asked == {
        "+15551110001": ["DetectMessageEnd"],
        "+15551110002": None,
        "+15551110003": None,
    }


def test_a_detect_machine_cell_that_is_not_true_or_false_stops_before_any_call(
    flows: Path, people: Path, standin: rest.Standin, capsys: pytest.CaptureFixture[str]
) -> None:
    people.write_text("to,detect_machine\n+15551110001,maybe\n")
    assert bulk("call", flows, people) == 2
    assert "line 2: `detect_machine` is 'maybe'; write true or false" in capsys.readouterr().err
    assert standin.posts("Calls") == []


def test_wrong_credentials_stop_the_run_at_the_first_row(
    flows: Path,
    people: Path,
    standin: rest.Standin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong")
    assert bulk("call", flows, people) == 2
    assert len(standin.requests) == 1
    assert [r["status"] for r in results(people)] == ["refused"]
    err = capsys.readouterr().err
    assert "20003 — authentication failed" in err
    assert "stopped after row 1 of 5: run the same command again" in err


def test_an_opted_out_number_is_refused_by_name_in_a_bulk_run(
    flows: Path, people: Path, standin: rest.Standin, store_url: str
) -> None:
    open_store(store_url).set_opt_out("+15551110002", OURS, True)
    bulk("text", flows, people)
    line = results(people)[1]
    assert line["status"] == "refused" and line["sid"] == ""
    assert line["message"].startswith("+15551110002 texted STOP and has opted out")
    assert "+15551110002" not in [r.field("To") for r in standin.posts("Messages")]


def test_a_csv_without_a_to_column_is_refused(
    flows: Path, tmp_path: Path, standin: rest.Standin, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("number,name\n+15551110001,Ann\n")
    assert bulk("text", flows, bad) == 2
    assert "no `to` column" in capsys.readouterr().err
    assert standin.requests == []


def test_the_pacer_spreads_sends_at_the_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(4.0, sleep=sleep, clock=lambda: now[0])
    for _ in range(5):
        pacer.wait()
    assert slept == [0.25] * 4
    now[0] += 10  # a pause between sends (a slow Twilio) is not made up for with a burst
    pacer.wait()
    pacer.wait()
    assert slept == [0.25] * 5


def test_the_progress_bar_is_plain_text_when_not_on_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(3, out)
    for done in range(4):
        progress.show(done)
    progress.note("error: something")
    assert out.getvalue().splitlines() == [
        "[" + " " * 30 + "] 0/3",
        "[" + "#" * 10 + " " * 20 + "] 1/3",
        "[" + "#" * 20 + " " * 10 + "] 2/3",
        "[" + "#" * 30 + "] 3/3",
        "error: something",
    ]
