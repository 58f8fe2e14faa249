"""Time that respects people: working hours, business hours and "the last working day".

Pure functions over plain values (no clock, no database). A unit's calendar is Monday-Friday minus
its holidays (domain/calendar.py); its working hours come from the company settings
(`org_settings.work_start` / `work_end`, default 09:00-18:00).

"Business hours" for the escalation climb are the hours of the unit's working days, counted in
the unit's time zone: a Saturday, a Sunday or a holiday adds nothing, a working day adds 24 h.
So a 24 h step opened on Friday at 10:00 falls due on Monday at 10:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.calendar import NO_HOLIDAYS, is_working_day

DEFAULT_WORK_START = time(9, 0)
DEFAULT_WORK_END = time(18, 0)
_MAX_DAYS = 3660  # ten years: no loop runs away on a calendar made only of holidays
_DAY = timedelta(days=1)


def parse_hhmm(value: str | None, default: time) -> time:
    """'09:30' -> time(9, 30); None, empty or malformed -> `default`."""
    try:
        hours, minutes = (value or "").split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return default


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone, UTC when unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def previous_working_day(day: date, holidays: frozenset[date] = NO_HOLIDAYS) -> date:
    """The last working day strictly before `day` (Monday -> Friday; after a holiday, before it)."""
    candidate = day - _DAY
    for _ in range(_MAX_DAYS):
        if is_working_day(candidate, holidays):
            return candidate
        candidate -= _DAY
    return day - _DAY


def in_working_hours(
    local_now: datetime,
    holidays: frozenset[date] = NO_HOLIDAYS,
    start: time = DEFAULT_WORK_START,
    end: time = DEFAULT_WORK_END,
) -> bool:
    """True on a working day between start (inclusive) and end (exclusive), local time."""
    return is_working_day(local_now.date(), holidays) and start <= local_now.time() < end


def reminder_window(
    local_now: datetime, window: timedelta, start: time = DEFAULT_WORK_START
) -> tuple[date, int]:
    """Which reminder window of the working day `local_now` falls in: (day, index from 0).

    Windows are `window` long and start at the working day's start (09:00-13:00, 13:00-17:00,
    17:00-18:00 with a 4 h window); one grouped reminder per rep per window.
    """
    day_start = datetime.combine(local_now.date(), start, local_now.tzinfo)
    elapsed = max(timedelta(0), local_now - day_start)
    step = max(window, timedelta(minutes=1))
    return local_now.date(), int(elapsed // step)


def pace_as_of(
    local_now: datetime, holidays: frozenset[date] = NO_HOLIDAYS, end: time = DEFAULT_WORK_END
) -> date:
    """The last completed working day: today once the working day has ended, else the one before.

    Pace judged during a working day counts today as not yet elapsed, so a rep exactly on pace at
    Friday's close is still on pace at 00:30 on Monday and at 10:00 on Monday.
    """
    today = local_now.date()
    if is_working_day(today, holidays) and local_now.time() >= end:
        return today
    return previous_working_day(today, holidays)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def business_hours_between(
    start: datetime, end: datetime, timezone: str | None, holidays: frozenset[date] = NO_HOLIDAYS
) -> timedelta:
    """Time between two instants that falls on working days of the unit (its local calendar)."""
    if end <= start:
        return timedelta(0)
    tz = zone(timezone)
    total = timedelta(0)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    for _ in range(_MAX_DAYS):
        if day > last:
            break
        if is_working_day(day, holidays):
            lo = max(start, _local_midnight(day, tz))
            hi = min(end, _local_midnight(day + _DAY, tz))
            if hi > lo:
                total += hi - lo
        day += _DAY
    return total


def add_business_hours(
    start: datetime, amount: timedelta, timezone: str | None, holidays: frozenset[date] = NO_HOLIDAYS
) -> datetime:
    """The instant at which `amount` of business time has passed since `start` (UTC)."""
    tz = zone(timezone)
    remaining = amount
    cursor = start.astimezone(UTC)
    day = cursor.astimezone(tz).date()
    for _ in range(_MAX_DAYS):
        day_end = _local_midnight(day + _DAY, tz)
        if is_working_day(day, holidays):
            available = day_end - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        cursor = day_end
        day += _DAY
    return cursor + remaining


def business_climb(
    level: int,
    since: datetime,
    now: datetime,
    steps: tuple[timedelta, ...],
    timezone: str | None,
    holidays: frozenset[date] = NO_HOLIDAYS,
    top: int = 3,
) -> tuple[int, datetime | None]:
    """(new level, when the last step passed fell due) for an unacknowledged escalation.

    One level per cumulative step of business time waited since `since`, up to `top`. The due
    instant dates the change, so a missed sweep catches up and the next step is still on time.
    """
    waited = business_hours_between(since, now, timezone, holidays)
    passed = [step for step in steps if waited >= step]
    new_level = min(top, level + len(passed))
    if new_level <= level:
        return level, None
    return new_level, add_business_hours(since, steps[new_level - level - 1], timezone, holidays)
