"""What a flow tried out would send and which switches it turned: shown, never sent."""

from __future__ import annotations

from ivr.store import Store
from ivr.store.base import Outgoing


def shown(item: Outgoing) -> str:
    """One line for an item of the outbox."""
    if item.kind == "note":
        return f"would {'email' if item.channel == 'email' else 'text'} {item.to}: {item.subject}"
    return f"would text {item.to} from {item.sender}: {item.body}"


class News:
    """The outbox items and switch changes that came since the last look."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.items = len(store.outgoing(last=10_000))
        self.flips = len(store.switch_history(last=10_000))

    def lines(self) -> list[str]:
        items = self.store.outgoing(last=10_000)[::-1]  # oldest first
        found = [shown(item) for item in items[self.items :]]
        flips = self.store.switch_history(last=10_000)  # newest first
        for change in flips[: len(flips) - self.flips][::-1]:
            found.append(f"switch {change.name} turned {'on' if change.on else 'off'}")
        self.items, self.flips = len(items), len(flips)
        return found
