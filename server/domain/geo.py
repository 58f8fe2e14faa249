"""Check-in plausibility: distance to the customer, GPS sanity, device clock sanity."""

from __future__ import annotations

from datetime import datetime, timedelta
from math import ceil
from typing import Literal, NamedTuple

from server.domain.routing import haversine_m

GeoStatus = Literal["verified", "out_of_range", "no_fix"]
ZERO_ACCURACY = "zero_accuracy"
IMPOSSIBLE_SPEED = "impossible_speed"

DEFAULT_RADIUS_M = 200.0
# Accuracy is a radius of uncertainty, so we give the rep its benefit - but only up to 100 m.
# Otherwise a coarse cell-tower fix ("accurate to 3 km") would verify a check-in from anywhere
# in town, and a spoofing app could simply report a huge accuracy.
ACCURACY_CREDIT_CAP_M = 100.0
# Two fixes this close together are GPS jitter, not travel, however little time passed.
SPEED_NOISE_M = 200.0


class Fix(NamedTuple):
    lat: float
    lng: float
    at: datetime


def geo_status(
    distance_m: float | None,
    accuracy_m: float | None,
    radius_m: float = DEFAULT_RADIUS_M,
    accuracy_cap_m: float = ACCURACY_CREDIT_CAP_M,
) -> GeoStatus:
    """verified if distance - min(accuracy, cap) <= radius; no_fix without a distance."""
    if distance_m is None:
        return "no_fix"
    credit = min(max(accuracy_m or 0.0, 0.0), accuracy_cap_m)
    return "verified" if distance_m - credit <= radius_m else "out_of_range"


def implausible_flags(
    accuracy_m: float | None,
    previous: Fix | None,
    current: Fix,
    max_speed_kmh: float = 200.0,
) -> list[str]:
    """Signs of a mocked or broken location; an empty list means nothing suspicious.

    zero_accuracy: real receivers never report 0 m (mock-location apps often do).
    impossible_speed: faster than `max_speed_kmh` since the rep's previous fix, ignoring moves
    under SPEED_NOISE_M. Fixes may arrive out of order from the offline outbox, hence abs().
    """
    flags = []
    if accuracy_m is not None and accuracy_m <= 0:
        flags.append(ZERO_ACCURACY)
    if previous is not None:
        distance = haversine_m(previous.lat, previous.lng, current.lat, current.lng)
        seconds = abs((current.at - previous.at).total_seconds())
        if distance > SPEED_NOISE_M and (seconds == 0 or distance / seconds * 3.6 > max_speed_kmh):
            flags.append(IMPOSSIBLE_SPEED)
    return flags


def _minutes_text(delta: timedelta) -> str:
    minutes = ceil(delta.total_seconds() / 60)  # round up: 5 min 30 s ahead reads "6 minutes"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def device_time_problem(
    device_time: datetime,
    received_at: datetime,
    max_future: timedelta = timedelta(minutes=5),
    max_age: timedelta = timedelta(days=7),
) -> str | None:
    """Why the device's capture time is not plausible, or None when it is."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    if device_time.tzinfo is None:
        return "device time has no timezone offset"
    if device_time - received_at > max_future:
        ahead = _minutes_text(device_time - received_at)
        return f"device time is {ahead} ahead of the server (limit {_minutes_text(max_future)})"
    if received_at - device_time > max_age:
        limit = f"{max_age.days} days" if max_age.days != 1 else "1 day"
        return f"device time {device_time.isoformat()} is more than {limit} old"
    return None
