"""`ivr history` and `ivr messages`: what happened, read from the store."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable

from ivr.settings import Settings
from ivr.store import STORE_ERRORS, Store, open_store
from ivr.store.base import Outgoing


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _reading(store_url: str | None, show: Callable[[Store], None]) -> int:
    # A store that is missing or can't be reached is one line, not a traceback; and reading
    # never leaves an empty database behind where there was none.
    url = store_url or Settings.from_env().store
    try:
        store = open_store(url, existing=True)
        try:
            store.open()
            show(store)
        finally:
            store.close()
    except STORE_ERRORS as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def history(store_url: str | None, *, flow: str | None = None, last: int = 20) -> int:
    return _reading(store_url, lambda store: _history(store, flow, last))


def _history(store: Store, flow: str | None, last: int) -> None:
    sessions = store.history(flow, last)
    if not sessions:
        print("No conversations yet.")
    for s in sessions:
        status = s.outcome or ("waiting in " + s.state if s.state else "starting")
        print(f"{_when(s.started)}  {s.channel:5}  {s.flow:20}  {s.caller or '-':16}  {status}")
        for step in s.path:
            said = f" {step.answer!r}" if step.answer else ""
            print(f"    {_when(step.at)[11:]}  {step.event:8} {step.state}{said}")


def delivery(item: Outgoing) -> str:
    """To whom an item went and when, or what became of it."""
    how = "email" if item.channel == "email" else "text"
    if item.status == "sent":
        return f"{how} to {item.to}: sent {_when(item.done)}"
    if item.status == "pending":
        retry = f", trying again at {_when(item.due)}: {item.detail}" if item.detail else ""
        return f"{how} to {item.to}: not sent yet{retry}"
    return f"{how} to {item.to}: {item.status} {_when(item.done)}: {item.detail}"


def messages(store_url: str | None, *, flow: str | None = None, last: int = 20) -> int:
    return _reading(store_url, lambda store: _messages(store, flow, last))


def _messages(store: Store, flow: str | None, last: int) -> None:
    found = store.messages(flow, last)
    outbox = store.outgoing(flow, last * 10)
    if not found and not outbox:
        print("No messages yet.")
    for m in found:
        print(f"{_when(m.at)}  {m.flow:20}  from {m.caller or '-'}  (state {m.state})")
        if m.url:
            print(f"    recording: {m.url} ({m.duration} s)")
        if m.text:
            print(f"    text: {m.text}")
        for url in m.media:
            print(f"    media: {url}")
        if m.transcription:
            print(f"    transcription: {m.transcription}")
        for item in outbox:
            if item.kind == "note" and (item.conversation, item.recording) == (
                m.conversation,
                m.url,
            ):
                print(f"    note by {delivery(item)}")
    texts = [item for item in outbox if item.kind == "text"]
    if texts:
        print("Texts sent by the flows:")
    for item in texts:
        print(f"{_when(item.created)}  {item.flow:20}  {delivery(item)}")
        print(f"    {item.body}")
