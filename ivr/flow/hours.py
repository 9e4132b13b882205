"""Named opening hours: reading them from a flow, and asking whether they are open now.

```yaml
office:
  timezone: America/New_York
  weekly: {mon-fri: "08:00-12:00, 13:00-18:00", sat: "09:00-12:00", sun: closed}
  closed_on: ["2026-12-25"]
```

Days not listed are closed. A range includes its start and excludes its end; `24:00` ends a
range at midnight. A range can't run past midnight: split it over the two days.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

from ivr.flow.model import Hours
from ivr.flow.problems import closest

SubPath = tuple[str | int, ...]
Mistake = tuple[SubPath, str]  # where in the hours entry, and what is wrong

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE = re.compile(r"(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_END_OF_DAY = dt.time.max  # `24:00`: with the end excluded, this is as good as midnight


def _day(word: str) -> int | None:
    word = word.strip().lower()
    for names in (DAYS, _FULL):
        if word in names:
            return names.index(word)
    return None


def parse_days(spec: str) -> tuple[list[int], str | None]:
    """`mon-fri`, `sat`, `mon,wed` or `fri-mon` as weekday numbers (0 = Monday)."""
    days: list[int] = []
    for part in spec.split(","):
        ends = part.split("-")
        numbers = [_day(end) for end in ends]
        if len(ends) > 2 or None in numbers:
            return [], (
                f"`{spec}` is not a day or range of days: write days as mon, tue, wed, thu, "
                "fri, sat, sun, a range like `mon-fri`, or several like `mon,wed`"
            )
        first, last = numbers[0], numbers[-1]
        assert first is not None and last is not None
        days += [(first + i) % 7 for i in range((last - first) % 7 + 1)]
    return days, None


def _time(hour: str, minute: str) -> dt.time | None:
    if int(hour) == 24 and int(minute) == 0:
        return _END_OF_DAY
    if int(hour) > 23 or int(minute) > 59:
        return None
    return dt.time(int(hour), int(minute))


def parse_ranges(spec: str) -> tuple[tuple[tuple[dt.time, dt.time], ...], str | None]:
    """`08:00-18:00`, `08:00-12:00, 13:00-17:00` or `closed` as (start, end) pairs."""
    if spec.strip().lower() == "closed":
        return (), None
    ranges: list[tuple[dt.time, dt.time]] = []
    for part in spec.split(","):
        match = _RANGE.fullmatch(part.strip())
        start = end = None
        if match:
            start = _time(match.group(1), match.group(2))
            end = _time(match.group(3), match.group(4))
        if start is None or end is None or start == _END_OF_DAY:
            return (), (
                f'`{spec}` is not a time range: write it like "08:00-18:00" (24-hour clock), '
                'several like "08:00-12:00, 13:00-17:00", or "closed"'
            )
        if end <= start:
            return (), (
                f"`{part.strip()}` ends before it starts: a range can't run past midnight, "
                'so split it, like "22:00-24:00" on one day and "00:00-02:00" on the next'
            )
        ranges.append((start, end))
    return tuple(sorted(ranges)), None


def _zone(name: object) -> str | None:
    if not isinstance(name, str):
        return "`timezone` must be a name like America/New_York"
    try:
        zoneinfo.ZoneInfo(name)
        return None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = closest(name, zoneinfo.available_timezones())
        hint = f"did you mean `{close}`?" if close else "use a name like America/New_York"
        return f"unknown timezone `{name}`: {hint}"


def parse_hours(name: str, raw: Any) -> tuple[Hours | None, list[Mistake]]:
    """An `Hours` from its YAML mapping, or the mistakes in it (with where they are)."""
    if not isinstance(raw, dict):
        return None, [((), f"hours `{name}` must be a mapping with `timezone` and `weekly`")]
    mistakes: list[Mistake] = []
    zone_mistake = _zone(raw.get("timezone"))
    if zone_mistake:
        mistakes.append((("timezone",), zone_mistake))
    weekly: dict[int, tuple[tuple[dt.time, dt.time], ...]] = {}
    written = raw.get("weekly") or {}
    for spec, ranges_text in written.items() if isinstance(written, dict) else []:
        days, day_mistake = parse_days(spec)
        ranges, range_mistake = parse_ranges(str(ranges_text))
        if day_mistake:
            mistakes.append((("weekly", spec), day_mistake))
        elif range_mistake:
            mistakes.append((("weekly", spec), range_mistake))
        for day in days:
            if day in weekly:
                mistakes.append((("weekly", spec), f"{DAYS[day]} has hours in two places"))
            weekly[day] = ranges
    closed: set[dt.date] = set()
    dates = raw.get("closed_on") or []
    for i, text in enumerate(dates if isinstance(dates, list) else []):
        try:
            if not _DATE.fullmatch(str(text)):
                raise ValueError
            closed.add(dt.date.fromisoformat(str(text)))
        except ValueError:
            mistakes.append((("closed_on", i), f'`{text}` is not a date like "2026-12-25"'))
    if mistakes:
        return None, mistakes
    return Hours(name, str(raw["timezone"]), weekly, frozenset(closed)), []


def is_open(hours: Hours, now: dt.datetime) -> bool:
    """Whether `hours` are open at `now`, a timezone-aware moment."""
    if now.tzinfo is None:
        raise ValueError("`now` must carry a timezone")
    local = now.astimezone(zoneinfo.ZoneInfo(hours.timezone))
    if local.date() in hours.closed_on:
        return False
    moment = local.time().replace(tzinfo=None)
    return any(start <= moment < end for start, end in hours.weekly.get(local.weekday(), ()))
