"""`ivr switch`: see the switches, turn one on or off, and read its changes."""

from __future__ import annotations

import datetime as dt
import getpass
import sys
import time

from ivr.flow.loader import load_flows
from ivr.flow.switching import NAME_RULE, SWITCH_NAME, parse_moment, zone_named, zone_of
from ivr.settings import Settings
from ivr.store import STORE_ERRORS, Store, open_store, unusable
from ivr.store.base import SwitchChange


def _zone(flows_dir: str, tz: str | None, flow: str | None) -> dt.tzinfo:
    if tz:
        return zone_named(tz)
    flows, _ = load_flows([flows_dir])  # a flow with errors has no say in the time zone
    if flow is not None:
        if flow not in flows:
            raise ValueError(f"no flow named {flow!r} loads from {flows_dir}")
        return zone_of([flows[flow]])
    return zone_of(flows.values())


def _when(ts: float, zone: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M %Z")


def _line(change: SwitchChange, now: float, zone: dt.tzinfo) -> str:
    value = "on" if change.value(now) else "off"
    if change.until is not None and now < change.until:
        value += f" until {_when(change.until, zone)}"
    return f"{change.name:24} {value:28} since {_when(change.at, zone)} by {change.by}"


def _who() -> str:
    try:
        return f"command (user {getpass.getuser()})"
    except (KeyError, OSError):  # no user name to be found, as in some containers
        return "command"


def switch(
    name: str | None,
    value: str | None,
    settings: Settings,
    *,
    until: str | None = None,
    tz: str | None = None,
    flow: str | None = None,
) -> int:
    try:
        zone = _zone(settings.flows_dir, tz, flow)
    except ValueError as exc:
        if until is not None or tz or flow:
            print(f"error: {exc} (with --tz, or --flow)", file=sys.stderr)
            return 2
        zone = dt.datetime.now().astimezone().tzinfo or dt.UTC  # only to show times
    store = open_store(settings.store)
    try:
        store.open()
        if name is None:
            return _list(store, zone)
        if not SWITCH_NAME.fullmatch(name):
            print(f"error: {name!r} is not a switch name: use {NAME_RULE}", file=sys.stderr)
            return 2
        if value is None:
            return _history(store, name, zone)
        return _turn(store, name, value == "on", until, zone)
    except STORE_ERRORS as exc:  # one line, not a traceback
        print(f"error: {unusable(settings.store, exc)}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _list(store: Store, zone: dt.tzinfo) -> int:
    found = store.switches()
    if not found:
        print("No switch has been turned yet: every switch is off.")
    now = time.time()
    for change in found.values():
        print(_line(change, now, zone))
    return 0


def _history(store: Store, name: str, zone: dt.tzinfo) -> int:
    changes = store.switch_history(name, last=50)
    if not changes:
        print(f"{name} has never been turned: it is off.")
        return 0
    print(_line(changes[0], time.time(), zone))
    for c in changes:
        until = f" until {_when(c.until, zone)}" if c.until is not None else ""
        print(f"    {_when(c.at, zone)}  {'on' if c.on else 'off'}{until}  by {c.by}")
    return 0


def _turn(store: Store, name: str, on: bool, until: str | None, zone: dt.tzinfo) -> int:
    now = time.time()
    at_until = None
    if until is not None:
        try:
            at_until = parse_moment(until, zone).timestamp()
        except ValueError as exc:
            print(f"error: --until: {exc}", file=sys.stderr)
            return 2
        if at_until <= now:
            print(f"error: --until {until} has already passed", file=sys.stderr)
            return 2
    change = SwitchChange(name, on, now, _who(), at_until)
    store.set_switch(change)
    print(_line(change, now, zone))
    return 0
