"""Opening hours: reading them, and whether they are open at a moment."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ivr.flow.hours import is_open, parse_days, parse_hours, parse_ranges
from ivr.flow.model import Hours

NEW_YORK = ZoneInfo("America/New_York")
OFFICE = {
    "timezone": "America/New_York",
    "weekly": {"mon-fri": "08:00-12:00, 13:00-18:00", "sat": "09:00-12:00", "sun": "closed"},
    "closed_on": ["2026-12-25"],
}


def office() -> Hours:
    hours, mistakes = parse_hours("office", OFFICE)
    assert mistakes == [] and hours is not None
    return hours


def at(day: int, hour: int, minute: int = 0, zone: dt.tzinfo = NEW_YORK) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=zone)  # 2026-11-02 is a Monday


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2, 7, 59), False),
        (at(2, 8, 0), True),  # the start is included
        (at(2, 11, 59), True),
        (at(2, 12, 0), False),  # the end is not
        (at(2, 12, 30), False),  # lunch
        (at(2, 13, 0), True),
        (at(6, 17, 59), True),  # Friday
        (at(7, 10, 0), True),  # Saturday morning
        (at(7, 12, 0), False),
        (at(8, 10, 0), False),  # Sunday: closed
    ],
)
def test_is_open_in_the_hours_own_zone(moment: dt.datetime, expected: bool) -> None:
    assert is_open(office(), moment) is expected


def test_other_zones_are_converted() -> None:
    # 14:00 in London on Monday 2 November is 09:00 in New York.
    assert is_open(office(), at(2, 14, 0, ZoneInfo("Europe/London")))
    assert not is_open(office(), at(2, 12, 30, dt.UTC))  # 07:30 in New York


def test_closed_on_dates_are_closed_all_day() -> None:
    christmas = dt.datetime(2026, 12, 25, 10, 0, tzinfo=NEW_YORK)  # a Friday
    assert not is_open(office(), christmas)
    assert is_open(office(), christmas + dt.timedelta(days=-1))


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError):
        is_open(office(), dt.datetime(2026, 11, 2, 9, 0))


def test_until_midnight() -> None:
    hours, _ = parse_hours("late", {"timezone": "UTC", "weekly": {"fri": "20:00-24:00"}})
    assert hours is not None
    assert is_open(hours, dt.datetime(2026, 11, 6, 23, 59, 59, tzinfo=dt.UTC))
    assert not is_open(hours, dt.datetime(2026, 11, 7, 0, 0, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon-fri", [0, 1, 2, 3, 4]),
        ("sat", [5]),
        ("mon,wed", [0, 2]),
        ("Monday, Thursday-Friday", [0, 3, 4]),
        ("fri-mon", [4, 5, 6, 0]),
    ],
)
def test_day_specs(spec: str, days: list[int]) -> None:
    assert parse_days(spec) == (days, None)


@pytest.mark.parametrize("spec", ["mon-fry", "weekdays", "mon-wed-fri", ""])
def test_bad_day_specs(spec: str) -> None:
    days, mistake = parse_days(spec)
    assert days == [] and mistake is not None and "is not a day" in mistake


def test_ranges() -> None:
    ranges, mistake = parse_ranges("13:00-17:00, 8:00-12:00")
    assert mistake is None
    assert ranges == ((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17)))
    assert parse_ranges("Closed") == ((), None)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("8-6", "is not a time range"),
        ("08:00-25:00", "is not a time range"),
        ("08:60-10:00", "is not a time range"),
        ("24:00-24:00", "is not a time range"),
        ("18:00-08:00", "ends before it starts"),
        ("09:00-09:00", "ends before it starts"),
    ],
)
def test_bad_ranges(spec: str, words: str) -> None:
    ranges, mistake = parse_ranges(spec)
    assert ranges == () and mistake is not None and words in mistake


def test_mistakes_say_where_they_are() -> None:
    hours, mistakes = parse_hours(
        "office",
        {
            "timezone": "Mars/Olympus",
            "weekly": {"mon": "9-5", "mon,tue": "09:00-17:00"},
            "closed_on": ["2026-02-30"],
        },
    )
    assert hours is None
    assert [where for where, _ in mistakes] == [
        ("timezone",),
        ("weekly", "mon"),
        ("weekly", "mon,tue"),
        ("closed_on", 0),
    ]
    assert "unknown timezone `Mars/Olympus`" in mistakes[0][1]
    assert mistakes[2][1] == "mon has hours in two places"
