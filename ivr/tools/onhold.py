"""Twilio's side of `<Enqueue>` for the phone: its queues, the turns of the wait URL, leaving.

As Twilio does, the phone asks the wait URL what to play when a caller joins a queue and again
each time the last answer has been played, with `QueuePosition`, `QueueTime`, `AvgQueueTime`
and `CurrentQueueSize`; a `<Leave/>` takes the caller out, and the action URL is then told why
(`QueueResult`, `QueueTime`). The phone hears no audio, so it counts time by what it plays:
a `<Play>` as `PLAY_SECONDS`, a `<Say>` by its words, a `<Pause>` by its length.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from ivr.tools.wire import parse_twiml

PLAY_SECONDS = 30
DEFAULT_MUSIC_SECONDS = 60  # a turn of Twilio's own hold music, when there is no wait URL
WORDS_A_SECOND = 2.5

Post = Callable[[str, Mapping[str, str]], str]
Hear = Callable[[str, str, str], None]  # what was heard, in which language and voice


def queue_sid(name: str) -> str:
    return "QU" + hashlib.sha256(name.encode()).hexdigest()[:32]


class Switchboard:
    """The queues of one account: who waits in each, in the order they came."""

    def __init__(self) -> None:
        self.queues: dict[str, list[Holding]] = {}

    def join(self, holding: Holding) -> None:
        self.queues.setdefault(holding.name, []).append(holding)

    def leave(self, holding: Holding) -> None:
        waiting = self.queues.get(holding.name, [])
        if holding in waiting:
            waiting.remove(holding)

    def first(self, name: str) -> Holding | None:
        waiting = self.queues.get(name, [])
        return waiting[0] if waiting else None


@dataclass(eq=False)
class Holding:
    """One caller in one queue."""

    name: str
    action: str  # absolute URLs, or "" when the verb has none
    wait_url: str
    rest: list[ET.Element]  # the verbs after `<Enqueue>`, for a queue without an action
    board: Switchboard
    taken: Callable[[], None]  # what the caller's call does when a staff dial takes it
    waited: int = 0  # seconds in the queue so far
    turn_ends: int = 0  # when what the wait URL answered last has been played

    def wait_fields(self) -> dict[str, str]:
        queue = self.board.queues.get(self.name, [])
        times = [h.waited for h in queue] or [self.waited]
        position = queue.index(self) + 1 if self in queue else 1
        return {
            "QueueSid": queue_sid(self.name),
            "QueuePosition": str(position),
            "QueueTime": str(self.waited),
            "AvgQueueTime": str(sum(times) // len(times)),
            "CurrentQueueSize": str(len(queue)),
        }

    def leave_fields(self, result: str) -> dict[str, str]:
        return {
            "QueueResult": result,
            "QueueSid": queue_sid(self.name),
            "QueueTime": str(self.waited),
        }

    def turns(
        self, until: int, post: Post, hear: Hear, notes: list[str]
    ) -> Literal["leave", "hangup"] | None:
        """Play the wait URL's answers up to `until` seconds in the queue; what ended the hold
        (`leave` or `hangup`), or None while the caller still waits."""
        while self.turn_ends <= until:
            self.waited = self.turn_ends
            if not self.wait_url:
                hear("[hold music]", "", "")
                self.turn_ends += DEFAULT_MUSIC_SECONDS
                continue
            seconds = 0.0
            for verb in parse_twiml(post(self.wait_url, self.wait_fields())):
                text = " ".join((verb.text or "").split())
                loop = max(1, int(verb.get("loop", "1") or 1))
                if verb.tag == "Say":
                    hear(text, verb.get("language", ""), verb.get("voice", ""))
                    seconds += loop * len(text.split()) / WORDS_A_SECOND
                elif verb.tag == "Play":
                    hear(f"[audio {text}]", "", "")
                    seconds += loop * PLAY_SECONDS
                elif verb.tag == "Pause":
                    seconds += int(verb.get("length", "1"))
                elif verb.tag == "Leave":
                    return "leave"
                elif verb.tag == "Hangup":
                    return "hangup"
                else:
                    notes.append(f"<{verb.tag}> on hold is not something this phone can do")
            self.turn_ends += max(1, round(seconds))
        self.waited = until
        return None
