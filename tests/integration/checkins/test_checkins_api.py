"""Check-in: accepted once per client id, races settled, device time checked, bad input named."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.access import Principal, Scope
from server.core.services import Services
from server.db.models import Checkin, User
from server.domain.checkin import CheckinIn
from server.services.checkins.visits import CheckinsService
from tests.conftest import Demo, MutableClock, bearer
from tests.integration.checkins.test_checkins_support import (
    API,
    add_task,
    checkin_body,
    count_rows,
    customers_of,
    north_of,
)


async def test_first_post_is_201_and_a_replay_is_200_with_the_same_record(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    body = checkin_body(place, clock.now() - timedelta(minutes=2))
    first = await client.post(API, json=body, headers=headers)
    assert first.status_code == 201, first.text
    stored = first.json()
    assert stored["received_at"] == "2026-11-18T02:00:00Z"  # the server's clock, not the phone's
    assert stored["checked_in_at"] == "2026-11-18T01:58:00Z"
    assert stored["rep_id"] == str(demo.user("rep1")) and stored["status"] == "open"
    clock.advance(minutes=30)
    replay = await client.post(API, json=body, headers=headers)
    assert replay.status_code == 200, replay.text
    assert replay.json() == stored
    assert replay.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_rows(engine, Checkin, Checkin.id == body["id"]) == 1
    fetched = await client.get(f"{API}/{body['id']}", headers=headers)
    assert fetched.json() == stored


async def test_the_same_instant_in_another_offset_is_the_same_body(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    body = checkin_body(place, clock.now() - timedelta(minutes=2))  # 01:58Z
    assert (await client.post(API, json=body, headers=headers)).status_code == 201
    shanghai = body | {"checked_in_at": "2026-11-18T09:58:00+08:00"}
    assert (await client.post(API, json=shanghai, headers=headers)).status_code == 200


async def test_same_id_with_a_different_body_is_409_naming_the_fields(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    body = checkin_body(place, clock.now() - timedelta(minutes=2))
    created = await client.post(API, json=body, headers=headers)
    moved_lat, _ = north_of(place, 50)
    conflict = await client.post(API, json=body | {"lat": moved_lat, "accuracy_m": 5.0}, headers=headers)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/problem+json")
    problem = conflict.json()
    assert problem["conflicting_fields"] == ["accuracy_m", "lat"]
    assert {e["field"] for e in problem["errors"]} == {"accuracy_m", "lat"}
    assert "accuracy_m, lat" in problem["detail"]
    unchanged = await client.get(f"{API}/{body['id']}", headers=headers)
    assert unchanged.json() == created.json()


async def test_an_id_used_by_another_rep_is_409_without_details(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    [rep1_place] = await customers_of(engine, demo.user("rep1"))
    [rep2_place] = await customers_of(engine, demo.user("rep2"))
    body = checkin_body(rep1_place, clock.now())
    assert (await client.post(API, json=body, headers=await auth("rep1"))).status_code == 201
    reuse = checkin_body(rep2_place, clock.now(), id=body["id"])
    response = await client.post(API, json=reuse, headers=await auth("rep2"))
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": "id", "message": "already in use"}]
    assert "conflicting_fields" not in response.json()


async def test_a_burst_of_identical_posts_gets_one_201(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    body = checkin_body(place, clock.now())
    responses = await asyncio.gather(*(client.post(API, json=body, headers=headers) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 200, 201]
    assert len({r.text for r in responses}) == 1, "every answer is the one stored record"
    assert await count_rows(engine, Checkin, Checkin.id == body["id"]) == 1


async def test_a_burst_of_differing_bodies_under_one_id_keeps_the_first(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    body = checkin_body(place, clock.now())
    variants = [body | {"accuracy_m": float(10 + n)} for n in range(4)]
    responses = await asyncio.gather(*(client.post(API, json=v, headers=headers) for v in variants))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    winner = next(r for r in responses if r.status_code == 201).json()
    stored = await client.get(f"{API}/{body['id']}", headers=headers)
    assert stored.json()["accuracy_m"] == winner["accuracy_m"]


async def _principal(session: AsyncSession, user_id: Any) -> Principal:
    user = await session.get(User, user_id)
    assert user is not None
    return Principal(user.id, user.email, user.name, user.role, user.org_unit_id, user.timezone, user.locale)


async def test_gathered_duplicates_in_separate_transactions_make_one_row(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: MutableClock,
    demo: Demo,
    engine: AsyncEngine,
) -> None:
    """Six phones' worth of the same request, each in its own transaction, truly overlapping."""
    [place] = await customers_of(engine, demo.user("rep1"))
    body = CheckinIn(
        id=uuid4(), customer_id=place.id, checked_in_at=clock.now(), lat=place.lat, lng=place.lng
    )

    async def submit() -> bool:
        async with sessionmaker() as session:
            rep = await _principal(session, demo.user("rep1"))
            service = Services(session, settings, clock).get(CheckinsService)
            _, created = await service.check_in(rep, await Scope.load(session, rep), body)
            await session.commit()
            return created

    assert sorted(await asyncio.gather(*(submit() for _ in range(6)))) == [False] * 5 + [True]
    assert await count_rows(engine, Checkin, Checkin.id == body.id) == 1


async def test_a_racing_duplicate_waits_for_the_winner_and_answers_as_a_replay(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: MutableClock,
    demo: Demo,
    engine: AsyncEngine,
) -> None:
    """Deterministic interleaving: B reads "no such check-in", then A commits, then B inserts."""
    [place] = await customers_of(engine, demo.user("rep1"))
    body = CheckinIn(
        id=uuid4(), customer_id=place.id, checked_in_at=clock.now(), lat=place.lat, lng=place.lng
    )
    async with sessionmaker() as session_a, sessionmaker() as session_b:
        rep = await _principal(session_a, demo.user("rep1"))
        winner = Services(session_a, settings, clock).get(CheckinsService)
        loser = Services(session_b, settings, clock).get(CheckinsService)
        _, created = await winner.check_in(rep, await Scope.load(session_a, rep), body)
        assert created
        racing = asyncio.create_task(loser.check_in(rep, await Scope.load(session_b, rep), body))
        await asyncio.sleep(0.3)  # let B reach its INSERT, which must wait for A's transaction
        assert not racing.done(), "the duplicate must wait for the first transaction"
        await session_a.commit()
        record, created = await asyncio.wait_for(racing, timeout=20)
        assert not created
        assert record.checkin.id == body.id
        await session_b.commit()
    assert await count_rows(engine, Checkin, Checkin.id == body.id) == 1


DEVICE_TIMES = [
    (timedelta(minutes=4, seconds=59), 201),
    (timedelta(minutes=6), 422),  # the phone's clock is ahead
    (-timedelta(days=6, hours=23), 201),  # captured offline almost a week ago
    (-timedelta(days=7, minutes=1), 422),
]


async def test_device_time_must_be_plausible(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    for offset, status in DEVICE_TIMES:
        response = await client.post(API, json=checkin_body(place, clock.now() + offset), headers=headers)
        assert response.status_code == status, (offset, response.text)
        if status == 422:
            assert response.json()["errors"][0]["field"] == "checked_in_at"
            assert response.json()["detail"].startswith("checked_in_at: device time")
    mine = Checkin.rep_id == demo.user("rep1"), Checkin.request_hash != "seed"
    assert await count_rows(engine, Checkin, *mine) == 2


async def test_a_replay_arriving_after_a_week_still_gets_its_record(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    body = checkin_body(place, clock.now() - timedelta(days=6))
    assert (await client.post(API, json=body, headers=headers)).status_code == 201
    clock.advance(days=3)  # the response was lost; the outbox replays days later
    fresh = await bearer(client, "rep1")  # the first token has expired by now
    assert (await client.post(API, json=body, headers=fresh)).status_code == 200


BAD_FIELDS = [
    ({"id": "not-a-uuid"}, "id"),
    ({"customer_id": 42}, "customer_id"),
    ({"lat": "north"}, "lat"),
    ({"accuracy_m": [12]}, "accuracy_m"),
    ({"lat": 91.0}, "lat"),
    ({"lng": -181.0}, "lng"),
    ({"accuracy_m": -1.0}, "accuracy_m"),
    ({"geo_error": "bored"}, "geo_error"),
    ({"checked_in_at": "2026-11-18T01:00:00"}, "checked_in_at"),  # no offset
    ({"checked_in_at": "yesterday"}, "checked_in_at"),
    ({"colour": "red"}, "colour"),
    ({"task_id": "123"}, "task_id"),
]


async def test_bad_input_is_400_naming_the_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    for change, field in BAD_FIELDS:
        response = await client.post(API, json=checkin_body(place, clock.now()) | change, headers=headers)
        assert response.status_code == 400, (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, change
    assert await count_rows(engine, Checkin, Checkin.request_hash != "seed") == 0


async def test_missing_fields_lone_coordinates_and_malformed_json(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    body = checkin_body(place, clock.now())
    missing = await client.post(
        API, json={k: v for k, v in body.items() if k != "customer_id"}, headers=headers
    )
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "customer_id"
    lone = await client.post(API, json={k: v for k, v in body.items() if k != "lng"}, headers=headers)
    assert lone.status_code == 422 and lone.json()["errors"][0]["field"] == "lng"
    broken = await client.post(
        API, content=b'{"id": "x",', headers=headers | {"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.headers["content-type"].startswith("application/problem+json")
    not_object = await client.post(API, json=[body], headers=headers)
    assert not_object.status_code == 400
    assert await count_rows(engine, Checkin, Checkin.request_hash != "seed") == 0


async def test_unknown_customer_and_foreign_tasks(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    place, other = await customers_of(engine, demo.user("rep1"), 2)
    [rep2_place] = await customers_of(engine, demo.user("rep2"))
    unknown = await client.post(
        API, json=checkin_body(place, clock.now(), customer_id=str(uuid4())), headers=headers
    )
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "customer_id"
    other_customer_task = await add_task(engine, demo.user("rep1"), other.id, clock.now().date())
    wrong = await client.post(
        API, json=checkin_body(place, clock.now(), task_id=str(other_customer_task)), headers=headers
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "task_id"
    rep2_task = await add_task(engine, demo.user("rep2"), rep2_place.id, clock.now().date())
    foreign = await client.post(
        API, json=checkin_body(place, clock.now(), task_id=str(rep2_task)), headers=headers
    )
    assert foreign.status_code == 404 and foreign.json()["errors"][0]["field"] == "task_id"
    own_task = await add_task(engine, demo.user("rep1"), place.id, clock.now().date())
    ok = await client.post(API, json=checkin_body(place, clock.now(), task_id=str(own_task)), headers=headers)
    assert ok.status_code == 201 and ok.json()["task_id"] == str(own_task)
    async with engine.connect() as connection:
        stored = await connection.scalar(select(Checkin.task_id).where(Checkin.id == ok.json()["id"]))
    assert stored == own_task
