"""`fetch` in the tools: `ivr simulate` makes the real request, `ivr test` gives canned replies,
and the examples of the format's "Your own systems" section are the shipped clinic flow's."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import fetch_service
import pytest
from test_fetch import SECRET, clinic_flow

from ivr.cli import main
from ivr.tools.flowtests.suite import run_tests

ROOT = Path(__file__).parent.parent
CONTRACT = ROOT / "docs" / "flow-format.md"


@pytest.fixture(scope="module")
def service() -> Iterator[fetch_service.Service]:
    running = fetch_service.start()
    yield running
    running.close()


Simulate = Callable[..., str]


@pytest.fixture
def simulate(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Simulate:
    """`ivr simulate FLOW --flows FLOWS ARGS` with the clinic's secret and `moves` piped in,
    through the command's entry point (its process is tested in test_simulate): what it says."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("IVR_SECRET_CLINIC_API", SECRET)

    def run(flows: Path, flow: str, moves: str, *args: str) -> str:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(moves))
        code = main(["simulate", flow, "--flows", str(flows), *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "Traceback" not in out + err
        assert SECRET not in out + err + caplog.text
        return out

    return run


def test_simulate_makes_the_real_request(
    service: fetch_service.Service, tmp_path: Path, simulate: Simulate
) -> None:
    (tmp_path / "clinic_lookup.yaml").write_text(clinic_flow(service))
    (tmp_path / "loop_lookup.yaml").write_text(clinic_flow(service, service.url + "/loop"))
    out = simulate(tmp_path, "clinic_lookup", "1234\n")
    assert "  One moment while I look up your appointment.\n  Your next appointment is" in out
    assert "  (when = 'Tuesday at 3 PM')" in out
    assert service.received[-1].headers["authorization"] == f"Bearer {SECRET}"
    out = simulate(tmp_path, "clinic_lookup", "hi\n1234\n", "--sms")
    assert "Your next appointment is Tuesday at 3 PM with Doctor Rivera." in out
    out = simulate(tmp_path, "loop_lookup", "1234\n")
    assert "(warning: fetch failed: HTTP 302: redirects are not followed (flow loop_lookup" in out
    assert f"url {service.url}/loop)" in out
    assert "  Sorry, I can't look up appointments right now." in out


def test_the_contract_example_is_the_clinic_flow_s_fetch() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    section = text.split("## Your own systems", 1)[1]
    fragment = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)[0]
    assert fragment.startswith("  find_appointment:\n")
    assert fragment in (ROOT / "flows" / "clinic_lookup.yaml").read_text(encoding="utf-8")


def test_the_documented_test_file_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CONTRACT.read_text(encoding="utf-8").split("## Your own systems", 1)[1]
    example = re.findall(r"  ```yaml\n(.*?)  ```", text, re.DOTALL)[0]
    example = "\n".join(line.removeprefix("  ") for line in example.splitlines())
    assert example.startswith("flow: clinic_lookup\n")
    (tmp_path / "example.yaml").write_text(example)
    code = run_tests([str(tmp_path / "example.yaml")], flows_dir=str(ROOT / "flows"), junit=None)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ok    the system is down" in out


def test_a_state_that_fetches_without_a_canned_reply_fails_its_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.yaml").write_text(
        "flow: clinic_lookup\n"
        "tests:\n"
        "  - name: no reply given\n"
        "    steps:\n"
        '      - press: "1234"\n'
        "      - hear: Your next appointment\n"
    )
    code = run_tests([str(tmp_path / "t.yaml")], flows_dir=str(ROOT / "flows"), junit=None)
    out = capsys.readouterr().out
    assert code == 1
    assert "the test gives no reply for state `find_appointment`: add it under `replies`" in out


@pytest.mark.parametrize(
    ("replies", "message"),
    [
        ("{find_apointment: timeout}", "no state `find_apointment` that fetches: did you mean"),
        ("{welcome: timeout}", "no state `welcome` that fetches"),
        ("{find_appointment: slow}", "a reply is `timeout`, `error`, or a mapping"),
        ("{find_appointment: {status: 999}}", "`status` is an HTTP status from 100 to 599"),
        ("{find_appointment: {json: {}, text: x}}", "give the reply's `json` or its `text`"),
        ("[find_appointment]", "write the replies as a mapping of states"),
    ],
)
def test_wrong_replies_are_reported_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], replies: str, message: str
) -> None:
    (tmp_path / "t.yaml").write_text(
        f"flow: clinic_lookup\nreplies: {replies}\ntests:\n  - name: x\n    steps:\n"
        '      - press: "1234"\n'
    )
    code = run_tests([str(tmp_path / "t.yaml")], flows_dir=str(ROOT / "flows"), junit=None)
    out = capsys.readouterr().out
    assert code == 1
    assert f"{tmp_path / 't.yaml'}:2:" in out and message in out


def test_the_graph_shows_where_a_failed_request_goes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "clinic_lookup", "--flows", str(ROOT / "flows")]) == 0
    drawing = capsys.readouterr().out
    assert '    s1 -->|"fetched"| s2\n    s1 -.->|"failed"| s5\n' in drawing
