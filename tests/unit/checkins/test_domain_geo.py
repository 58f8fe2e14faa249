from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.geo import (
    IMPOSSIBLE_SPEED,
    ZERO_ACCURACY,
    Fix,
    device_time_problem,
    geo_status,
    implausible_flags,
)


@pytest.mark.parametrize(
    ("distance", "accuracy", "radius", "expected"),
    [
        (None, 10.0, 200.0, "no_fix"),
        (None, None, 200.0, "no_fix"),
        (150.0, None, 200.0, "verified"),
        (200.0, 0.0, 200.0, "verified"),  # on the radius counts
        (201.0, None, 200.0, "out_of_range"),
        (250.0, 50.0, 200.0, "verified"),  # within the radius given the fix's uncertainty
        (300.0, 100.0, 200.0, "verified"),
        (300.5, 100.0, 200.0, "out_of_range"),
        (350.0, 3000.0, 200.0, "out_of_range"),  # a coarse fix earns at most 100 m of credit
        (201.0, -50.0, 200.0, "out_of_range"),  # nonsense accuracy earns nothing
        (450.0, 50.0, 500.0, "verified"),  # configurable radius
    ],
)
def test_geo_status(distance: float | None, accuracy: float | None, radius: float, expected: str) -> None:
    assert geo_status(distance, accuracy, radius) == expected


T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HERE = (52.5200, 13.4050)
TEN_KM_NORTH = (52.6099, 13.4050)  # ~10 km


@pytest.mark.parametrize(
    ("accuracy", "previous", "current", "flags"),
    [
        (12.0, None, Fix(*HERE, T0), []),
        (None, None, Fix(*HERE, T0), []),
        (0.0, None, Fix(*HERE, T0), [ZERO_ACCURACY]),
        (12.0, Fix(*HERE, T0), Fix(*TEN_KM_NORTH, T0 + timedelta(minutes=1)), [IMPOSSIBLE_SPEED]),
        (12.0, Fix(*HERE, T0), Fix(*TEN_KM_NORTH, T0 + timedelta(minutes=4)), []),  # 150 km/h
        (12.0, Fix(*HERE, T0), Fix(*TEN_KM_NORTH, T0 + timedelta(hours=1)), []),
        (12.0, Fix(*HERE, T0), Fix(*TEN_KM_NORTH, T0), [IMPOSSIBLE_SPEED]),  # same instant
        # Replayed out of order from the offline outbox: speed is symmetric.
        (12.0, Fix(*HERE, T0 + timedelta(minutes=1)), Fix(*TEN_KM_NORTH, T0), [IMPOSSIBLE_SPEED]),
        # GPS jitter of ~110 m within a second is not travel.
        (12.0, Fix(*HERE, T0), Fix(52.5210, 13.4050, T0 + timedelta(seconds=1)), []),
        (0.0, Fix(*HERE, T0), Fix(*TEN_KM_NORTH, T0), [ZERO_ACCURACY, IMPOSSIBLE_SPEED]),
    ],
)
def test_implausible_flags(
    accuracy: float | None, previous: Fix | None, current: Fix, flags: list[str]
) -> None:
    assert implausible_flags(accuracy, previous, current) == flags


def test_max_speed_is_configurable() -> None:
    later = Fix(*TEN_KM_NORTH, T0 + timedelta(minutes=4))
    assert implausible_flags(12.0, Fix(*HERE, T0), later, max_speed_kmh=120) == [IMPOSSIBLE_SPEED]


@pytest.mark.parametrize(
    ("device_offset", "problem"),
    [
        (timedelta(0), None),
        (timedelta(minutes=5), None),  # the limit itself is fine
        (timedelta(minutes=4, seconds=59), None),
        (timedelta(minutes=5, seconds=30), "device time is 6 minutes ahead of the server (limit 5 minutes)"),
        (timedelta(hours=2), "device time is 120 minutes ahead of the server (limit 5 minutes)"),
        (-timedelta(days=7), None),  # captured offline a week ago
        (-timedelta(days=7, seconds=1), "device time 2026-11-16T08:59:59+00:00 is more than 7 days old"),
    ],
)  # fmt: skip
def test_device_time_problem(device_offset: timedelta, problem: str | None) -> None:
    assert device_time_problem(T0 + device_offset, T0) == problem


def test_device_time_in_another_zone_is_compared_as_an_instant() -> None:
    shanghai = T0.astimezone(ZoneInfo("Asia/Shanghai"))  # 17:00 local, the same instant
    assert device_time_problem(shanghai, T0) is None


def test_naive_times() -> None:
    assert device_time_problem(T0.replace(tzinfo=None), T0) == "device time has no timezone offset"
    with pytest.raises(ValueError, match="received_at"):
        device_time_problem(T0, T0.replace(tzinfo=None))
