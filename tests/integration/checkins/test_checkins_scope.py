"""Who may check in, check out and read which check-ins: rep, managers up the tree, executives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import User
from tests.conftest import Demo, MutableClock
from tests.integration.checkins.test_checkins_support import API, checkin_body, customers_of

NOT_REPS = ("manager1", "manager2", "director1", "director2", "exec", "admin")
# Who sees rep1's check-ins: rep1, the Shanghai Team 1 manager, the East China director, the top.
SEES_REP1 = {"rep1", "manager1", "director1", "exec", "admin"}
EVERYONE = ("rep1", "rep2", *NOT_REPS)


async def _reps_under(engine: AsyncEngine, demo: Demo, *units: str) -> set[UUID]:
    async with engine.connect() as connection:
        rows = await connection.scalars(
            select(User.id).where(User.org_unit_id.in_([demo.units[u] for u in units]), User.role == "rep")
        )
        return set(rows)


async def test_only_the_owning_rep_writes(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    [place] = await customers_of(engine, demo.user("rep1"))
    outsider = await client.post(API, json=checkin_body(place, clock.now()), headers=await auth("rep2"))
    assert outsider.status_code == 404, "another rep's customer does not exist for rep2"
    assert outsider.json()["errors"] == [{"field": "customer_id", "message": "not found"}]
    for local in NOT_REPS:
        response = await client.post(API, json=checkin_body(place, clock.now()), headers=await auth(local))
        assert response.status_code == 403, local
    created = await client.post(API, json=checkin_body(place, clock.now()), headers=await auth("rep1"))
    assert created.status_code == 201
    checkout = f"{API}/{created.json()['id']}/checkout"
    body = {"checked_out_at": clock.now().isoformat(), "outcome": "no_decision"}
    assert (await client.post(checkout, json=body, headers=await auth("rep2"))).status_code == 404
    for local in NOT_REPS:
        assert (await client.post(checkout, json=body, headers=await auth(local))).status_code == 403, local
    assert (await client.post(checkout, json=body, headers=await auth("rep1"))).status_code == 200
    assert (await client.post(API, json=checkin_body(place, clock.now()))).status_code == 401


async def test_reads_follow_the_org_tree(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    [place] = await customers_of(engine, demo.user("rep1"))
    [rep2_place] = await customers_of(engine, demo.user("rep2"))
    mine = await client.post(API, json=checkin_body(place, clock.now()), headers=await auth("rep1"))
    theirs = await client.post(API, json=checkin_body(rep2_place, clock.now()), headers=await auth("rep2"))
    rep1_checkin, rep2_checkin = mine.json()["id"], theirs.json()["id"]
    team1 = await _reps_under(engine, demo, "Shanghai Team 1")
    team2 = await _reps_under(engine, demo, "Los Angeles Team 1")
    assert demo.user("rep1") in team1 and demo.user("rep2") in team2
    visible_reps = {
        "rep1": {demo.user("rep1")},
        "rep2": {demo.user("rep2")},
        "manager1": team1,
        "manager2": team2,
    }
    today = {"from": "2026-11-18", "to": "2026-11-18"}
    for local in EVERYONE:
        headers = await auth(local)
        one = await client.get(f"{API}/{rep1_checkin}", headers=headers)
        assert one.status_code == (200 if local in SEES_REP1 else 404), local
        listed = await client.get(API, params={**today, "limit": 500}, headers=headers)
        assert listed.status_code == 200, local
        ids = {c["id"] for c in listed.json()}
        assert (rep1_checkin in ids) == (local in SEES_REP1), local
        if local in visible_reps:
            assert {UUID(c["rep_id"]) for c in listed.json()} <= visible_reps[local], local
        filtered = await client.get(API, params={"rep_id": str(demo.user("rep1"))}, headers=headers)
        assert bool(filtered.json()) == (local in SEES_REP1), local
    assert (await client.get(f"{API}/{rep2_checkin}", headers=await auth("manager1"))).status_code == 404
    assert (await client.get(f"{API}/{rep2_checkin}", headers=await auth("manager2"))).status_code == 200


async def test_list_filters_by_local_dates_rep_and_customer(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    place, other = await customers_of(engine, demo.user("rep1"), 2)
    # 23:30 on the 17th in Shanghai is the 17th there, though already 15:30 UTC.
    late = await client.post(
        API, json=checkin_body(place, clock.now() - timedelta(hours=10, minutes=30)), headers=headers
    )
    now = await client.post(API, json=checkin_body(other, clock.now()), headers=headers)
    assert late.json()["checked_in_at"] == "2026-11-17T15:30:00Z"
    on_18th = await client.get(API, params={"from": "2026-11-18", "to": "2026-11-18"}, headers=headers)
    assert [c["id"] for c in on_18th.json()] == [now.json()["id"]]
    on_17th = await client.get(API, params={"from": "2026-11-17", "to": "2026-11-17"}, headers=headers)
    assert late.json()["id"] in {c["id"] for c in on_17th.json()}
    assert now.json()["id"] not in {c["id"] for c in on_17th.json()}
    by_customer = await client.get(
        API, params={"customer_id": str(other.id), "from": "2026-11-18"}, headers=headers
    )
    assert [c["id"] for c in by_customer.json()] == [now.json()["id"]]
    newest_first = await client.get(API, params={"limit": 3}, headers=headers)
    stamps = [c["checked_in_at"] for c in newest_first.json()]
    assert len(stamps) == 3 and stamps == sorted(stamps, reverse=True)
    backwards = await client.get(API, params={"from": "2026-11-18", "to": "2026-11-01"}, headers=headers)
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "from"
    for params, field in [({"from": "soon"}, "from"), ({"to": "2026-13-01"}, "to"), ({"limit": 0}, "limit")]:
        bad = await client.get(API, params=params, headers=headers)
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == field, params
    bad_ids = await client.get(API, params={"rep_id": "me", "customer_id": "x"}, headers=headers)
    assert {e["field"] for e in bad_ids.json()["errors"]} == {"rep_id", "customer_id"}
