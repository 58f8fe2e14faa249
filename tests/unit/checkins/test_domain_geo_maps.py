"""China's map datums and navigation links, against published reference points."""

from __future__ import annotations

import pytest

from server.domain.geo import (
    gcj02_to_bd09,
    in_china,
    navigation_links,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# (WGS-84 lat, lng) -> (GCJ-02 lat, lng): googollee/eviltransform's test points.
WGS_TO_GCJ = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]
# wandergis/coordtransform's reference point (also in hutool's tests), lng 116.404, lat 39.915.
WGS_TO_GCJ.append(((39.915, 116.404), (39.91640428150164, 116.41024449916938)))


@pytest.mark.parametrize(("wgs", "gcj"), WGS_TO_GCJ)
def test_wgs84_to_gcj02_matches_reference_points(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    converted = wgs84_to_gcj02(*wgs)
    assert converted.lat == pytest.approx(gcj[0], abs=1e-9)
    assert converted.lng == pytest.approx(gcj[1], abs=1e-9)


def test_gcj02_to_bd09_matches_coordtransform() -> None:
    converted = gcj02_to_bd09(39.915, 116.404)
    assert converted.lat == pytest.approx(39.92133699351021, abs=1e-9)
    assert converted.lng == pytest.approx(116.41036949371029, abs=1e-9)


def test_wgs84_to_bd09_is_gcj02_then_baidu() -> None:
    wgs = (31.1774276, 121.5272106)
    assert wgs84_to_bd09(*wgs) == gcj02_to_bd09(*wgs84_to_gcj02(*wgs))
    assert wgs84_to_bd09(*wgs) != wgs84_to_gcj02(*wgs)


def test_gcj02_to_bd09_matches_gcoord() -> None:
    # hujiulong/gcoord: GCJ-02 [lng 123, lat 45] -> BD-09 [123.00636499, 45.00636899].
    converted = gcj02_to_bd09(45.0, 123.0)
    assert converted.lng == pytest.approx(123.00636499, abs=1e-7)
    assert converted.lat == pytest.approx(45.00636899, abs=1e-7)


def test_outside_china_nothing_moves() -> None:
    assert not in_china(34.0522, -118.2437) and not in_china(51.5, -0.12)  # Los Angeles, London
    assert wgs84_to_gcj02(34.0522, -118.2437) == (34.0522, -118.2437)
    assert wgs84_to_bd09(51.5, -0.12) == (51.5, -0.12)
    assert in_china(31.23, 121.47)


def test_links_choose_the_apps_of_the_country_and_their_datum() -> None:
    amap, baidu = navigation_links(31.1774276, 121.5272106, "Lotus Store #3")
    assert (amap.app, baidu.app) == ("amap", "baidu")
    assert "to=121.531542,31.175304,Lotus%20Store%20%233" in amap.url and "coordinate=gaode" in amap.url
    bd = wgs84_to_bd09(31.1774276, 121.5272106)
    assert f"latlng:{bd.lat:.6f},{bd.lng:.6f}" in baidu.url and "coord_type=bd09ll" in baidu.url
    apple, google = navigation_links(34.0522, -118.2437, "Red & Co")
    assert (apple.app, google.app) == ("apple", "google")
    assert apple.url == "https://maps.apple.com/?daddr=34.052200,-118.243700&q=Red%20%26%20Co"
    assert google.url.endswith("destination=34.052200,-118.243700")
