"""Switches: what a switch may be called, and the times people write for `--until`."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable

from ivr.flow.model import Flow

SWITCH_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
NAME_RULE = "a letter, then letters, digits, `_` or `-` (at most 64)"
_MOMENT = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:?\d\d|Z)?")


def switch_setting(text: str) -> tuple[str, bool]:
    """`closed_today=on` as ("closed_today", True); ValueError in words for anything else."""
    name, _, value = text.partition("=")
    if value not in ("on", "off") or not SWITCH_NAME.fullmatch(name):
        raise ValueError(f"{text!r}: write NAME=on or NAME=off")
    return name, value == "on"


def zone_named(name: str) -> dt.tzinfo:
    """A time zone by its name (America/New_York, UTC); ValueError for an unknown one."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"{name!r} is not a time zone: use a name such as America/New_York or UTC"
        ) from exc


def zone_of(flows: Iterable[Flow]) -> dt.tzinfo:
    """The time zone the flows' opening hours are written in, else the server's own.

    ValueError when they use several: then a time must say which one it is in.
    """
    zones = sorted({h.timezone for flow in flows for h in flow.hours.values()})
    if len(zones) > 1:
        raise ValueError(
            f"the flows' opening hours are in several time zones ({', '.join(zones)}): "
            "say which one the time is in"
        )
    if zones:
        return zoneinfo.ZoneInfo(zones[0])
    return dt.datetime.now().astimezone().tzinfo or dt.UTC


def parse_moment(text: str, zone: dt.tzinfo) -> dt.datetime:
    """`2026-12-24 08:00` in `zone`, or an ISO 8601 time with its own offset."""
    text = text.strip()
    if not _MOMENT.fullmatch(text):
        raise ValueError(f"{text!r} is not a time: write it as 2026-12-24 08:00")
    try:
        at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time: {exc}") from exc
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)
