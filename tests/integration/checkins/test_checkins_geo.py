"""Geofence against the customer's location (accuracy considered) and implausible-signal flags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import Customer, OrgSettings
from tests.conftest import Demo, MutableClock
from tests.integration.checkins.test_checkins_support import API, checkin_body, customers_of, north_of

# (metres from the customer, reported accuracy, expected status); default radius 200 m.
GEOFENCE = [
    (0.0, 12.0, "verified"),
    (199.9, None, "verified"),
    (200.1, None, "out_of_range"),
    (250.0, 50.1, "verified"),  # the fix's uncertainty covers the gap
    (250.0, 49.9, "out_of_range"),
    (299.9, 3000.0, "verified"),  # a coarse fix earns at most 100 m of credit
    (300.1, 3000.0, "out_of_range"),
]


async def test_geofence_statuses_at_the_boundary(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    for minutes, (metres, accuracy, expected) in enumerate(GEOFENCE):
        # Ten minutes apart, so moving a few hundred metres between them is a plausible walk.
        at = clock.now() - timedelta(minutes=10 * (len(GEOFENCE) - minutes))
        body = checkin_body(place, at, metres, accuracy_m=accuracy)
        response = await client.post(API, json=body, headers=headers)
        assert response.status_code == 201, response.text
        stored = response.json()
        assert (stored["geo_status"], stored["distance_m"]) == (expected, round(metres, 1)), (
            metres,
            accuracy,
        )
        assert stored["flags"] == []


async def test_the_radius_comes_from_the_org_settings(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    far = checkin_body(place, clock.now(), 450.0, accuracy_m=None)
    assert (await client.post(API, json=far, headers=headers)).json()["geo_status"] == "out_of_range"
    async with engine.begin() as connection:
        await connection.execute(update(OrgSettings).values(checkin_radius_m=500))
    again = checkin_body(place, clock.now(), 450.0, accuracy_m=None)
    assert (await client.post(API, json=again, headers=headers)).json()["geo_status"] == "verified"


async def test_no_fix_is_accepted_and_explained(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    place, unlocated = await customers_of(engine, demo.user("rep1"), 2)
    denied = checkin_body(place, clock.now(), None, geo_error="denied")
    response = await client.post(API, json=denied, headers=headers)
    assert response.status_code == 201
    assert (response.json()["geo_status"], response.json()["distance_m"]) == ("no_fix", None)
    page = await client.get(f"/checkins/{denied['id']}", headers=headers)
    assert "Location permission was denied." in page.text
    async with engine.begin() as connection:
        await connection.execute(
            update(Customer).where(Customer.id == unlocated.id).values(lat=None, lng=None)
        )
    fix_but_no_map = await client.post(API, json=checkin_body(unlocated, clock.now()), headers=headers)
    assert fix_but_no_map.json()["geo_status"] == "no_fix"
    assert fix_but_no_map.json()["flags"] == ["customer_not_located"]


async def test_implausible_signals_are_flagged_but_accepted(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    start = clock.now() - timedelta(hours=4)
    perfect = await client.post(API, json=checkin_body(place, start, accuracy_m=0.0), headers=headers)
    assert perfect.status_code == 201
    assert perfect.json()["flags"] == ["zero_accuracy"]
    assert perfect.json()["geo_status"] == "verified"
    # 20 km in one minute (1,200 km/h) since the previous check-in.
    lat, lng = north_of(place, 20_000)
    jump = checkin_body(place, start + timedelta(minutes=1), lat=lat, lng=lng)
    flagged = await client.post(API, json=jump, headers=headers)
    assert flagged.status_code == 201
    assert flagged.json()["flags"] == ["impossible_speed"]
    assert flagged.json()["geo_status"] == "out_of_range"
    assert flagged.json()["distance_m"] == 20_000.0
    # An hour later at the same far spot: compared with the jump, not with the start.
    later = checkin_body(place, start + timedelta(minutes=61), lat=lat, lng=lng)
    assert (await client.post(API, json=later, headers=headers)).json()["flags"] == []
    # 20 km in 2 hours (10 km/h) is a normal drive.
    calm = checkin_body(place, start + timedelta(minutes=181))
    assert (await client.post(API, json=calm, headers=headers)).json()["flags"] == []
