from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.notify import (
    DEFAULT_PUSH_POLICY,
    next_attempt,
    push_policy,
    quiet_hours_deliver_after,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (utc(2026, 11, 23, 12, 0), "Europe/Berlin", utc(2026, 11, 23, 12, 0)),  # 13:00 local
        (utc(2026, 11, 23, 19, 59), "Europe/Berlin", utc(2026, 11, 23, 19, 59)),  # 20:59
        (utc(2026, 11, 23, 20, 0), "Europe/Berlin", utc(2026, 11, 24, 6, 0)),  # 21:00 is quiet
        (utc(2026, 11, 23, 22, 30), "Europe/Berlin", utc(2026, 11, 24, 6, 0)),
        (utc(2026, 11, 24, 2, 0), "Europe/Berlin", utc(2026, 11, 24, 6, 0)),  # 03:00 local
        (utc(2026, 11, 24, 6, 0), "Europe/Berlin", utc(2026, 11, 24, 6, 0)),  # 07:00 is not
        # Spring forward overnight: 07:00 CEST is 05:00 UTC, not 06:00.
        (utc(2026, 3, 28, 21, 0), "Europe/Berlin", utc(2026, 3, 29, 5, 0)),
        # Fall back overnight: 07:00 CET is 06:00 UTC, not 05:00.
        (utc(2026, 10, 24, 20, 0), "Europe/Berlin", utc(2026, 10, 25, 6, 0)),
        (utc(2026, 11, 24, 2, 0), "America/New_York", utc(2026, 11, 24, 12, 0)),  # 21:00 EST
        (utc(2026, 11, 23, 14, 0), "Asia/Shanghai", utc(2026, 11, 23, 23, 0)),  # 22:00 local
        (utc(2026, 11, 23, 23, 30), "Asia/Shanghai", utc(2026, 11, 23, 23, 30)),  # 07:30 local
    ],
)
def test_quiet_hours(now: datetime, tz: str, expected: datetime) -> None:
    assert quiet_hours_deliver_after(now, tz) == expected


def test_custom_and_empty_quiet_windows() -> None:
    lunch = (time(12), time(13))
    now = utc(2026, 11, 23, 11, 30)  # 12:30 Berlin
    assert quiet_hours_deliver_after(now, "Europe/Berlin", *lunch) == utc(2026, 11, 23, 12, 0)
    assert quiet_hours_deliver_after(now, "Europe/Berlin", time(9), time(9)) == now


def test_result_is_utc_even_for_other_offsets() -> None:
    now = utc(2026, 11, 23, 12, 0).astimezone(ZoneInfo("Asia/Tokyo"))
    assert quiet_hours_deliver_after(now, "UTC").tzinfo == UTC
    quiet = utc(2026, 11, 23, 22, 0).astimezone(ZoneInfo("Asia/Tokyo"))
    assert quiet_hours_deliver_after(quiet, "UTC") == utc(2026, 11, 24, 7, 0)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        quiet_hours_deliver_after(datetime(2026, 11, 23, 12), "Europe/Berlin")


NOW = utc(2026, 11, 23, 9, 0)


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        (0, NOW),
        (1, NOW + timedelta(minutes=1)),
        (2, NOW + timedelta(minutes=5)),
        (3, NOW + timedelta(minutes=30)),
        (4, NOW + timedelta(hours=2)),
        (5, None),  # dead
        (9, None),
    ],
)
def test_next_attempt(attempts: int, expected: datetime | None) -> None:
    assert next_attempt(attempts, NOW) == expected


def test_negative_attempts_rejected() -> None:
    with pytest.raises(ValueError):
        next_attempt(-1, NOW)


@pytest.mark.parametrize(
    ("kind", "ttl", "urgency"),
    [
        ("overdue_task", timedelta(hours=4), "high"),
        ("escalation", timedelta(hours=24), "high"),
        ("digest", timedelta(hours=12), "normal"),
        ("grade_change", timedelta(days=3), "low"),
        ("something_new", DEFAULT_PUSH_POLICY.ttl, DEFAULT_PUSH_POLICY.urgency),
    ],
)
def test_push_policy(kind: str, ttl: timedelta, urgency: str) -> None:
    assert push_policy(kind) == (ttl, urgency)
