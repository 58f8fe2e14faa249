"""Notification timing: quiet hours, retry backoff, and Web Push TTL/urgency per kind."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

QUIET_START = time(21)
QUIET_END = time(7)
# Delay before retry n+1 after n failed attempts; after the last one the message is dead.
RETRY_BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)

Urgency = Literal["very-low", "low", "normal", "high"]


class PushPolicy(NamedTuple):
    ttl: timedelta  # how long the push service keeps it for an offline device (TTL header)
    urgency: Urgency  # RFC 8030 Urgency header: lets the phone batch low-priority pushes


# A push that arrives after it stopped mattering is noise: overdue reminders expire with the
# working day, the digest by evening; the in-app inbox keeps everything regardless.
PUSH_POLICIES: Mapping[str, PushPolicy] = MappingProxyType(
    {
        "overdue_task": PushPolicy(timedelta(hours=4), "high"),
        "escalation": PushPolicy(timedelta(hours=24), "high"),
        "promise_due": PushPolicy(timedelta(hours=12), "normal"),
        "plan_ready": PushPolicy(timedelta(hours=8), "normal"),
        "digest": PushPolicy(timedelta(hours=12), "normal"),
        "grade_change": PushPolicy(timedelta(days=3), "low"),
    }
)
DEFAULT_PUSH_POLICY = PushPolicy(timedelta(hours=24), "normal")


def push_policy(kind: str) -> PushPolicy:
    """TTL and urgency for a notification kind (a safe default for kinds not listed)."""
    return PUSH_POLICIES.get(kind, DEFAULT_PUSH_POLICY)


def _in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:  # e.g. 13:00-14:00 within one day
        return start <= local < end
    return local >= start or local < end  # spans midnight


def quiet_hours_deliver_after(
    now_utc: datetime, tz: str, start: time = QUIET_START, end: time = QUIET_END
) -> datetime:
    """`now_utc` outside quiet hours, else the UTC instant quiet hours end in `tz`.

    The end is built as a local wall-clock time on the right date and converted with zoneinfo,
    so a DST change overnight still yields 07:00 local, not 07:00 +/- 1 h.
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    zone = ZoneInfo(tz)
    local = now_utc.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if not _in_quiet_hours(wall, start, end):
        return now_utc.astimezone(UTC)
    end_date = local.date()
    if wall >= end:  # evening part of a window that spans midnight: ends tomorrow
        end_date += timedelta(days=1)
    return datetime.combine(end_date, end, tzinfo=zone).astimezone(UTC)


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """When to try again after `attempts` failed attempts; None when the message is dead."""
    if attempts < 0:
        raise ValueError("attempts must be >= 0")
    if attempts == 0:
        return now
    if attempts > len(RETRY_BACKOFF):
        return None
    return now + RETRY_BACKOFF[attempts - 1]
