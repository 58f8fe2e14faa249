"""Check-in plausibility (distance to the customer, GPS and device clock sanity), and map links
with the coordinate conversions China's map apps need."""

from __future__ import annotations

from datetime import datetime, timedelta
from math import atan2, ceil, cos, pi, sin, sqrt
from typing import Literal, NamedTuple
from urllib.parse import quote

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


# ---- Map apps: China's coordinate systems and the links that open a navigation app ----
#
# Maps in mainland China are drawn in GCJ-02 (Amap, Tencent, Apple Maps' Chinese data), a
# deliberately offset datum; Baidu adds its own offset on top (BD-09). GPS and our database use
# WGS-84, so a WGS-84 point handed to Amap or Baidu lands a few hundred metres off. The formulas
# are the published ones (as in googollee/eviltransform); tests pin them to reference points.

_KRASOVSKY_A = 6378245.0  # the semi-major axis GCJ-02 uses
_KRASOVSKY_EE = 0.00669342162296594323  # and its eccentricity squared
_BD_X_PI = pi * 3000.0 / 180.0


class LatLng(NamedTuple):
    lat: float
    lng: float


def in_china(lat: float, lng: float) -> bool:
    """Inside the rough box where GCJ-02 applies (outside it, GCJ-02 equals WGS-84)."""
    return 72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
    ret += (20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)) * 2.0 / 3.0
    ret += (20.0 * sin(y * pi) + 40.0 * sin(y / 3.0 * pi)) * 2.0 / 3.0
    ret += (160.0 * sin(y / 12.0 * pi) + 320.0 * sin(y * pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
    ret += (20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)) * 2.0 / 3.0
    ret += (20.0 * sin(x * pi) + 40.0 * sin(x / 3.0 * pi)) * 2.0 / 3.0
    ret += (150.0 * sin(x / 12.0 * pi) + 300.0 * sin(x / 30.0 * pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> LatLng:
    """GPS (WGS-84) to the GCJ-02 datum Amap expects; unchanged outside China."""
    if not in_china(lat, lng):
        return LatLng(lat, lng)
    d_lat = _offset_lat(lng - 105.0, lat - 35.0)
    d_lng = _offset_lng(lng - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * pi
    magic = 1 - _KRASOVSKY_EE * sin(rad_lat) ** 2
    sqrt_magic = sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * pi)
    d_lng = (d_lng * 180.0) / (_KRASOVSKY_A / sqrt_magic * cos(rad_lat) * pi)
    return LatLng(lat + d_lat, lng + d_lng)


def gcj02_to_bd09(lat: float, lng: float) -> LatLng:
    """GCJ-02 to Baidu's BD-09."""
    z = sqrt(lng * lng + lat * lat) + 0.00002 * sin(lat * _BD_X_PI)
    theta = atan2(lat, lng) + 0.000003 * cos(lng * _BD_X_PI)
    return LatLng(z * sin(theta) + 0.006, z * cos(theta) + 0.0065)


def wgs84_to_bd09(lat: float, lng: float) -> LatLng:
    """GPS (WGS-84) to the BD-09 datum Baidu Maps expects; unchanged outside China."""
    if not in_china(lat, lng):
        return LatLng(lat, lng)
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lng))


class MapLink(NamedTuple):
    app: Literal["amap", "baidu", "apple", "google"]
    url: str


def navigation_links(lat: float, lng: float, name: str) -> list[MapLink]:
    """Links that open a navigation app at a WGS-84 point: Amap and Baidu (each in its own
    datum) inside China, where Google Maps is unavailable; Apple Maps and Google Maps elsewhere."""
    label = quote(name, safe="")
    if in_china(lat, lng):
        gcj = wgs84_to_gcj02(lat, lng)
        bd = wgs84_to_bd09(lat, lng)
        return [
            MapLink(
                "amap",
                f"https://uri.amap.com/navigation?to={gcj.lng:.6f},{gcj.lat:.6f},{label}"
                "&mode=car&coordinate=gaode&callnative=1",
            ),
            MapLink(
                "baidu",
                f"https://api.map.baidu.com/direction?destination=latlng:{bd.lat:.6f},{bd.lng:.6f}|name:{label}"
                "&coord_type=bd09ll&mode=driving&output=html&src=fieldsales",
            ),
        ]
    return [
        MapLink("apple", f"https://maps.apple.com/?daddr={lat:.6f},{lng:.6f}&q={label}"),
        MapLink("google", f"https://www.google.com/maps/dir/?api=1&destination={lat:.6f},{lng:.6f}"),
    ]
