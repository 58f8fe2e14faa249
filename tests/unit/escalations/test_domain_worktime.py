"""Working hours, business hours and the last working day: tables of cases (Shanghai, UTC+8)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.worktime import (
    add_business_hours,
    business_climb,
    business_hours_between,
    in_working_hours,
    pace_as_of,
    parse_hhmm,
    previous_working_day,
    reminder_window,
)

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
# Week of 2026-12-07 (Mon) .. 2026-12-13 (Sun); Wednesday 2026-12-16 is a holiday in the tests.
HOLIDAY = frozenset({date(2026, 12, 16)})
STEPS = (24 * H, 48 * H, 72 * H)


def sh(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time in December 2026."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize(
    ("day", "holidays", "expected"),
    [
        (date(2026, 12, 8), frozenset(), date(2026, 12, 7)),  # Tue -> Mon
        (date(2026, 12, 14), frozenset(), date(2026, 12, 11)),  # Mon -> Fri
        (date(2026, 12, 13), frozenset(), date(2026, 12, 11)),  # Sun -> Fri
        (date(2026, 12, 17), HOLIDAY, date(2026, 12, 15)),  # Thu after a Wednesday holiday -> Tue
        (date(2026, 12, 15), frozenset({date(2026, 12, 14), date(2026, 12, 11)}), date(2026, 12, 10)),
    ],
)
def test_previous_working_day(day: date, holidays: frozenset[date], expected: date) -> None:
    assert previous_working_day(day, holidays) == expected


@pytest.mark.parametrize(
    ("local_now", "holidays", "expected"),
    [
        (sh(14, 0, 30), frozenset(), date(2026, 12, 11)),  # 00:30 Monday: Friday's close
        (sh(14, 10), frozenset(), date(2026, 12, 11)),  # Monday morning: the day is not over
        (sh(14, 18), frozenset(), date(2026, 12, 14)),  # Monday at the end of the working day
        (sh(12, 15), frozenset(), date(2026, 12, 11)),  # Saturday: Friday
        (sh(16, 19), HOLIDAY, date(2026, 12, 15)),  # the holiday evening: Tuesday
        (sh(17, 9), HOLIDAY, date(2026, 12, 15)),  # the morning after a holiday: Tuesday
    ],
)
def test_pace_as_of_is_the_last_completed_working_day(
    local_now: datetime, holidays: frozenset[date], expected: date
) -> None:
    assert pace_as_of(local_now, holidays) == expected


@pytest.mark.parametrize(
    ("local_now", "holidays", "inside"),
    [
        (sh(14, 8, 59), frozenset(), False),
        (sh(14, 9), frozenset(), True),
        (sh(14, 17, 59), frozenset(), True),
        (sh(14, 18), frozenset(), False),
        (sh(12, 11), frozenset(), False),  # Saturday
        (sh(16, 11), HOLIDAY, False),  # holiday
        (sh(16, 11), frozenset(), True),
    ],
)
def test_in_working_hours(local_now: datetime, holidays: frozenset[date], inside: bool) -> None:
    assert in_working_hours(local_now, holidays, time(9), time(18)) is inside


@pytest.mark.parametrize(
    ("local_now", "window"),
    [
        (sh(14, 9), 0),
        (sh(14, 12, 59), 0),
        (sh(14, 13), 1),
        (sh(14, 17, 30), 2),
    ],
)
def test_reminder_window(local_now: datetime, window: int) -> None:
    assert reminder_window(local_now, 4 * H, time(9)) == (local_now.date(), window)


@pytest.mark.parametrize(
    ("start", "end", "holidays", "hours"),
    [
        (sh(7, 10), sh(8, 10), frozenset(), 24),  # Mon 10:00 -> Tue 10:00
        (sh(11, 10), sh(14, 10), frozenset(), 24),  # Fri 10:00 -> Mon 10:00: the weekend is free
        (sh(11, 10), sh(13, 23), frozenset(), 14),  # Fri 10:00 -> Sun 23:00
        (sh(15, 10), sh(17, 10), HOLIDAY, 24),  # across a holiday
        (sh(15, 10), sh(17, 10), frozenset(), 48),
        (sh(14, 10), sh(14, 9), frozenset(), 0),  # end before start
    ],
)
def test_business_hours_between(
    start: datetime, end: datetime, holidays: frozenset[date], hours: int
) -> None:
    assert business_hours_between(start, end, "Asia/Shanghai", holidays) == hours * H


@pytest.mark.parametrize(
    ("start", "amount", "holidays", "due"),
    [
        (sh(11, 10), 24, frozenset(), sh(14, 10)),  # Friday + 24 h -> Monday
        (sh(12, 10), 24, frozenset(), sh(15, 0)),  # opened on Saturday: counts from Monday 00:00
        (sh(15, 10), 24, HOLIDAY, sh(17, 10)),  # skips the holiday
        (sh(10, 10), 72, frozenset(), sh(15, 10)),  # Thu + 3 working days (Thu, Fri, Mon) -> Tue
    ],
)
def test_add_business_hours(start: datetime, amount: int, holidays: frozenset[date], due: datetime) -> None:
    assert add_business_hours(start, amount * H, "Asia/Shanghai", holidays) == due.astimezone(UTC)


@pytest.mark.parametrize(
    ("level", "since", "now", "holidays", "expected"),
    [
        (1, sh(11, 10), sh(13, 23), frozenset(), (1, None)),  # Friday -> Sunday night: no climb
        (1, sh(11, 10), sh(14, 10), frozenset(), (2, sh(14, 10))),  # Monday 10:00: one level
        (1, sh(11, 10), sh(15, 11), frozenset(), (3, sh(15, 10))),  # Tuesday: catches up two
        (1, sh(15, 10), sh(17, 9), HOLIDAY, (1, None)),  # the holiday does not count
        (3, sh(7, 10), sh(14, 10), frozenset(), (3, None)),  # already at the top
    ],
)
def test_business_climb(
    level: int,
    since: datetime,
    now: datetime,
    holidays: frozenset[date],
    expected: tuple[int, datetime | None],
) -> None:
    new_level, due = business_climb(level, since, now, STEPS, "Asia/Shanghai", holidays)
    assert (new_level, due) == (expected[0], None if expected[1] is None else expected[1].astimezone(UTC))


@pytest.mark.parametrize(
    ("text", "expected"), [("09:30", time(9, 30)), ("", time(9)), (None, time(9)), ("nine", time(9))]
)
def test_parse_hhmm(text: str | None, expected: time) -> None:
    assert parse_hhmm(text, time(9)) == expected
