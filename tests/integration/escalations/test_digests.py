"""Morning digests: due at 07:30 local (Shanghai and Los Angeles), once per day, one push each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import Checkin, Customer, Digest, Escalation, Notification, Task
from server.jobs.registry import run_job
from tests.conftest import Demo, login_session
from tests.integration.escalations.test_ladder_scenario import put_far_behind_on_visits

SHANGHAI_MANAGERS = {"director1", "manager1", "manager3"}
LA_MANAGERS = {"director2", "manager2", "manager4"}


SHANGHAI_UNITS = ("East China", "Shanghai Team 1", "Shanghai Team 2")


async def escalations_in(sessionmaker: async_sessionmaker[AsyncSession], units: set[UUID]) -> set[str]:
    async with sessionmaker() as session:
        return {
            str(i)
            for i in await session.scalars(select(Escalation.id).where(Escalation.org_unit_id.in_(units)))
        }


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def digests_by(sessionmaker: async_sessionmaker[AsyncSession], demo: Demo) -> dict[str, list[date]]:
    names = {v: k for k, v in demo.users.items()}
    async with sessionmaker() as session:
        rows = (await session.execute(select(Digest.manager_id, Digest.local_date))).all()
    found: dict[str, list[date]] = {}
    for manager_id, day in rows:
        found.setdefault(names[manager_id], []).append(day)
    return found


async def digest_run(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, at: datetime, slot: str | None = None
) -> dict[str, Any]:
    result = await run_job("digest", sessionmaker, settings, at, force_slot=slot)
    assert result is not None
    return result


async def test_due_at_half_past_seven_local_in_each_time_zone(
    demo: Demo, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # 15:15Z: 23:15 in Shanghai (due, for Nov 18), 07:15 in Los Angeles (not yet).
    assert (await digest_run(sessionmaker, settings, utc(18, 15, 15)))["digests"] == 3
    assert set(await digests_by(sessionmaker, demo)) == SHANGHAI_MANAGERS
    # 15:30Z: 07:30 in Los Angeles.
    assert (await digest_run(sessionmaker, settings, utc(18, 15, 30)))["digests"] == 3
    # 23:15Z: 07:15 on Nov 19 in Shanghai, too early; Los Angeles already has Nov 18.
    assert (await digest_run(sessionmaker, settings, utc(18, 23, 15)))["digests"] == 0
    assert (await digest_run(sessionmaker, settings, utc(18, 23, 30)))["digests"] == 3
    # A second process (another slot) at the same moment adds nothing and pushes nothing.
    assert (await digest_run(sessionmaker, settings, utc(18, 23, 30), slot="again"))["digests"] == 0
    found = await digests_by(sessionmaker, demo)
    for name in SHANGHAI_MANAGERS:
        assert sorted(found[name]) == [date(2026, 11, 18), date(2026, 11, 19)]
    for name in LA_MANAGERS:
        assert found[name] == [date(2026, 11, 18)]
    assert "exec" not in found and "rep1" not in found
    async with sessionmaker() as session:
        pushes = (
            await session.execute(
                select(Notification.user_id, Notification.url).where(Notification.kind == "digest")
            )
        ).all()
    assert len(pushes) == 9
    assert (demo.user("manager2"), "/digests/2026-11-18") in pushes


async def add_rep1_day(sessionmaker: async_sessionmaker[AsyncSession], demo: Demo, day: date) -> int:
    """rep1's Nov 17 in Shanghai: three visits planned, two done; two more completed check-ins
    (besides any the demo's history has that day: the total is returned); and one call that was
    due at noon and is still planned."""
    rep1 = demo.user("rep1")
    zone = ZoneInfo("Asia/Shanghai")
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    async with sessionmaker() as session:
        seeded = await session.scalar(
            select(func.count())
            .select_from(Checkin)
            .where(
                Checkin.rep_id == rep1,
                Checkin.checked_in_at >= start,
                Checkin.checked_in_at < start + timedelta(days=1),
            )
        )
        customer = await session.scalar(select(Customer.id).where(Customer.owner_rep_id == rep1).limit(1))
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
        for status in ("done", "done", "skipped"):
            session.add(
                Task(
                    rep_id=rep1,
                    local_date=day,
                    customer_id=customer,
                    kind="visit",
                    source="planner",
                    status=status,
                )
            )
        session.add(
            Task(
                rep_id=rep1, local_date=day, customer_id=customer, kind="call", source="manager", due_at=noon
            )
        )
        for hour in (10, 14):
            at = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
            session.add(
                Checkin(
                    id=uuid4(),
                    rep_id=rep1,
                    customer_id=customer,
                    checked_in_at=at,
                    received_at=at,
                    geo_status="verified",
                    request_hash="t",
                    checked_out_at=at + timedelta(minutes=30),
                )
            )
        await session.commit()
    return (seeded or 0) + 2


async def test_content_pace_escalations_overdue_and_yesterdays_visits(
    demo: Demo, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    checkins = await add_rep1_day(sessionmaker, demo, date(2026, 11, 17))
    # rep3 works in Shanghai Team 2 (the director's region, not manager1's team): a month far
    # behind on visits opens an escalation there, whatever the demo's draw.
    await put_far_behind_on_visits(sessionmaker, demo.user("rep3"), date(2026, 11, 1))
    await run_job("escalate", sessionmaker, settings, utc(17, 20))  # the demo's visits are far behind
    await digest_run(sessionmaker, settings, utc(17, 23, 30))  # 07:30 on Nov 18 in Shanghai
    async with sessionmaker() as session:
        content = await session.scalar(
            select(Digest.content).where(Digest.manager_id == demo.user("manager1"))
        )
        push = await session.scalar(
            select(Notification).where(
                Notification.kind == "digest", Notification.user_id == demo.user("manager1")
            )
        )
    assert content["local_date"] == "2026-11-18" and content["as_of"] == "2026-11-17"
    assert [row["name"] for row in content["pace"]] == ["Rep 1", "Rep 5"]
    assert content["pace"][0]["revenue"]["status"] in ("green", "yellow", "orange", "red")
    team1, region_units = demo.units["Shanghai Team 1"], {demo.units[n] for n in SHANGHAI_UNITS}
    team_opened = await escalations_in(sessionmaker, {team1})
    assert {c["escalation_id"] for c in content["escalations"]} == team_opened
    assert ("Rep 1", "visits", "opened") in {
        (c["subject_name"], c["metric"], c["event"]) for c in content["escalations"]
    }
    # Yesterday's call, still planned: missed whether or not plan-day has closed the day yet.
    assert content["overdue"] == []
    [missed] = content["missed"]
    assert (missed["name"], [t["kind"] for t in missed["tasks"]]) == ("Rep 1", ["call"])
    assert content["yesterday"] == "2026-11-17"
    rep1_visits = next(v for v in content["visits"] if v["name"] == "Rep 1")
    assert (rep1_visits["planned"], rep1_visits["done"], rep1_visits["checkins"]) == (3, 2, checkins)
    assert push.url == "/digests/2026-11-18" and push.title == "Your morning digest"
    assert f"{len(team_opened)} escalation changes" in push.body and "1 task missed" in push.body
    assert "2 of 3 visits done yesterday" in push.body
    # The director sees the region: both Shanghai teams as rows.
    async with sessionmaker() as session:
        region = await session.scalar(
            select(Digest.content).where(Digest.manager_id == demo.user("director1"))
        )
    assert [row["kind"] for row in region["pace"]] == ["team", "team"]
    region_opened = await escalations_in(sessionmaker, region_units)
    assert {
        c["escalation_id"] for c in region["escalations"]
    } == region_opened and region_opened > team_opened
    assert ("Rep 3", "visits", "opened") in {
        (c["subject_name"], c["metric"], c["event"]) for c in region["escalations"]
    }


async def test_digest_pages_and_api_are_the_managers_own(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    auth: Any,
) -> None:
    checkins = await add_rep1_day(sessionmaker, demo, date(2026, 11, 17))
    await digest_run(sessionmaker, settings, utc(17, 23, 30))
    headers, manager2, rep1 = await auth("manager1"), await auth("manager2"), await auth("rep1")
    await login_session(client, "manager1")
    page = await client.get("/digests/2026-11-18")
    assert page.status_code == 200
    for text in (
        "Rep 1</a> · 1 missed",
        f'<td class="num">3</td><td class="num">2</td><td class="num">{checkins}</td>',
    ):
        assert text in page.text, text
    assert (await client.get("/digests")).status_code == 200
    assert (await client.get("/digests/2026-11-01")).status_code == 404
    assert (await client.get("/digests/yesterday")).status_code == 400
    api = await client.get("/api/v1/digests/2026-11-18", headers=headers)
    assert api.status_code == 200 and api.json()["manager_id"] == str(demo.user("manager1"))
    bad = await client.get("/api/v1/digests/18-11-2026", headers=headers)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "local_date"
    # manager2 (Los Angeles) has no Nov 18 digest yet at that moment, and never sees manager1's.
    other = await client.get("/api/v1/digests/2026-11-18", headers=manager2)
    assert other.status_code == 404
    assert (await client.get("/api/v1/digests", headers=rep1)).status_code == 403
