"""The examples of "Holding callers" and "Calls we place" in the format check clean and work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.flow.loader import load_flow_text
from ivr.flow.model import Flow
from ivr.tools.simulate import Sandbox

CONTRACT = Path(__file__).parent.parent / "docs" / "flow-format.md"


def fragment(section: str) -> str:
    text = CONTRACT.read_text(encoding="utf-8").split(f"## {section}\n", 1)[1]
    return re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)[0]


def flow(name: str, text: str) -> Flow:
    loaded, problems = load_flow_text(text, name=name)
    assert problems == [], "\n".join(map(str, problems))
    assert loaded is not None
    return loaded


HOLDING = """\
states:
  menu:
    say: Press 1 for the operator.
    choices:
      "1": operator
      "9": take_next_caller            # the staff's way in
  operator:
    say: Connecting you now.
    dial: "+15555550100"
    if_no_answer: hold
{fragment}
  voicemail:
    say: Please leave a message.
    record: true
    next: goodbye
  nobody_waiting:
    say: Nobody is waiting.
  goodbye:
    say: Goodbye.
    hangup: true
"""

REMINDER = """\
states:
{fragment}
  leave_message:
    say: This is your reminder for tomorrow. Goodbye.
  remind:
    say: This is your reminder for tomorrow. Press 1 to confirm.
    choices:
      "1": done
  done:
    say: Thanks.
"""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    holding = flow("desk", HOLDING.format(fragment=fragment("Holding callers")))
    reminder = flow("reminder", REMINDER.format(fragment=fragment("Calls we place")))
    box = Sandbox({"desk": holding, "reminder": reminder})
    yield box
    box.close()


def test_the_holding_example_holds_and_a_staff_dial_takes_the_caller(sandbox: Sandbox) -> None:
    caller = sandbox.call("desk", "+15551112222", "+15550001111")
    caller.start()
    caller.press("1")
    assert caller.dial("busy") == [
        "All our staff are with other callers. Please stay on the line.",
        "You are number 1 in line.",
        "[audio https://example.com/hold.mp3]",
    ]
    staff = sandbox.call("desk", "+15555550101", "+15550001111")
    staff.start()
    assert staff.press("9") == ["[connected to the next caller in front_desk]"]
    assert staff.dial("answered") == [] and staff.ended  # no `next`: the staff call ends
    assert caller.heard == ["[a staff member takes the call]", "Goodbye."]
    assert caller.ended


def test_the_holding_example_leaves_the_queue_for_voicemail_after_max_wait(
    sandbox: Sandbox,
) -> None:
    caller = sandbox.call("desk", "+15551112222", "+15550001111")
    caller.start()
    caller.press("1")
    caller.dial("no-answer")
    assert caller.hold(330)[-2:] == ["Please leave a message.", "[beep]"]


def test_with_nobody_on_hold_the_staff_dial_is_not_answered(sandbox: Sandbox) -> None:
    staff = sandbox.call("desk", "+15555550101", "+15550001111")
    staff.start()
    assert staff.press("9") == ["[waiting for a caller in front_desk]"]
    assert staff.dial("no-answer") == ["Nobody is waiting."]


def test_the_reminder_example_leaves_its_message_on_a_machine(sandbox: Sandbox) -> None:
    machine = sandbox.call(
        "reminder", "+15551112222", "+15550001111", answered_by="machine_end_beep"
    )
    assert machine.start() == ["This is your reminder for tomorrow. Goodbye."]
    person = sandbox.call("reminder", "+15551113333", "+15550001111", answered_by="human")
    assert person.start() == ["This is your reminder for tomorrow. Press 1 to confirm."]
