"""A caller on hold in a queue: what to play while they wait, and where they go when they leave.

Twilio asks the wait URL for something to play each time the last thing ends (a `hold` event,
with the caller's place in line and the seconds waited); the engine answers with the position
when `announce` seconds have passed since it last said it, then the music, and `Leave` once
`max_wait` has passed. When the caller leaves the queue, Twilio tells the action URL why (a
`queued` event with Twilio's QueueResult).
"""

from __future__ import annotations

from dataclasses import replace

from ivr.engine import actions as act
from ivr.engine.enter import enter
from ivr.engine.events import Event
from ivr.engine.run import Run
from ivr.flow.model import QueueState

# Twilio's own hold music: `<Enqueue>` plays it when there is no wait URL, and ours replaces it.
HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
# QueueResult values after which a staff member has spoken with the caller.
BRIDGED = ("bridged", "bridging-in-process")


def holding(run: Run, event: Event) -> None:
    """What to play next to a caller on hold (the answer to the wait URL)."""
    state = run.flow.states.get(run.session.state)
    waiting = run.session.waiting == "queue" and not run.session.ended
    if not waiting or not isinstance(state, QueueState):
        # The conversation has moved on (or was never here): nobody should be on hold for it.
        run.out.append(act.Leave())
        return
    queue = state.queue
    if event.waited >= queue.max_wait:
        run.out.append(act.Leave())  # the action URL comes next, with QueueResult `leave`
        return
    last = run.session.announced
    due = last < 0 or event.waited - last >= queue.announce
    if queue.announce and event.position > 0 and due:
        said = run.phrase("position")  # in the conversation's language
        run.out.append(replace(said, text=said.text.replace("{position}", str(event.position))))
        run.session = run.session.evolve(announced=event.waited)
    run.out.append(act.Play(queue.music or HOLD_MUSIC))


def dequeued(run: Run, event: Event) -> None:
    """The caller left the queue: spoken with (`next`), sent away (`if_no_answer`), or gone."""
    state = run.flow.states.get(run.session.state)
    if not isinstance(state, QueueState):  # a session this flow never made: enter its state again
        enter(run, run.session.state)
        return
    run.log_path(state.name, "queue", event.status or None)
    if event.status == "hangup":
        run.end("hangup", hangup=False)
    elif event.status in BRIDGED:
        enter(run, state.next)
    else:  # leave (max_wait), error, queue-full, system-shutdown, redirected
        enter(run, state.if_no_answer)
