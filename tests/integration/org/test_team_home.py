"""/team from real data: today per rep, the field, escalations, promises, needs-you; drill-down."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Checkin, Customer, Escalation, Promise, Task
from tests.conftest import Demo, MutableClock, login_session

# Wednesday 2 December 2026, 11:00 in Shanghai (rep1, manager1).
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
TODAY = date(2026, 12, 2)


async def seed_day(sessionmaker: async_sessionmaker[AsyncSession], demo: Demo) -> dict[str, Any]:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        customers = list(
            await session.scalars(select(Customer.id).where(Customer.owner_rep_id == rep1).limit(4))
        )

        def task(customer: UUID, status: str, due_hour: int) -> Task:
            due = datetime(2026, 12, 2, due_hour, tzinfo=UTC)
            return Task(
                id=uuid4(),
                rep_id=rep1,
                local_date=TODAY,
                customer_id=customer,
                kind="visit",
                source="planner",
                status=status,
                due_at=due,
            )

        done, visiting, late, later = (
            task(customers[0], "done", 1),
            task(customers[1], "planned", 2),
            task(customers[2], "planned", 2),
            task(customers[3], "planned", 8),
        )
        session.add_all([done, visiting, late, later])
        await session.flush()
        at = NOW - timedelta(minutes=20)
        session.add(
            Checkin(
                id=uuid4(),
                rep_id=rep1,
                customer_id=customers[1],
                task_id=visiting.id,
                checked_in_at=at,
                received_at=at,
                geo_status="verified",
                request_hash="t",
            )
        )
        session.add(
            Promise(
                id=uuid4(),
                customer_id=customers[0],
                rep_id=rep1,
                text="Send the price list",
                due_on=TODAY - timedelta(days=2),
                status="open",
                created_at=NOW - timedelta(days=5),
            )
        )
        escalation = Escalation(
            id=uuid4(),
            rule="pace_revenue",
            subject_type="user",
            subject_id=rep1,
            org_unit_id=demo.units["Shanghai Team 1"],
            severity="orange",
            level=2,
            state="open",
            dedup_key=f"pace_revenue:user:{rep1}:2026-12",
            opened_at=NOW - timedelta(hours=3),
            level_changed_at=NOW - timedelta(hours=3),
            last_seen_at=NOW,
            clear_count=0,
            snapshot={"metric": "revenue"},
        )
        session.add(escalation)
        await session.commit()
    return {"customers": customers, "escalation": escalation.id}


async def test_team_home_shows_the_live_day_and_needs_you(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: MutableClock,
) -> None:
    clock.set(NOW)
    seeded = await seed_day(sessionmaker, demo)
    await login_session(client, "manager1")
    page = await client.get("/team")
    assert page.status_code == 200
    html = page.text
    assert "No team activity yet today" not in html
    row = html.split(f'data-rep="{demo.user("rep1")}"', 1)[1].split("</tr>", 1)[0]
    figures = dict(re.findall(r'data-figure="([a-z-]+)">(\d+)<', row))
    # 4 planned: 1 done, 1 with a customer now, 1 past due (missed), 1 due later.
    assert figures == {"planned": "4", "done": "1", "in-progress": "1", "missed": "1"}
    field = html.split('data-section="field"', 1)[1].split("</section>", 1)[0]
    assert f"/customers/{seeded['customers'][1]}" in field and "With a customer" in field
    escalations = html.split('data-section="escalations"', 1)[1].split("</section>", 1)[0]
    assert 'data-figure="esc-orange">1<' in escalations
    needs = html.split('data-section="needs-you"', 1)[1].split("</section>", 1)[0]
    assert f"/escalations/{seeded['escalation']}" in needs  # level 2: the manager's to acknowledge
    assert "Send the price list" in html
    assert f"/team/reps/{demo.user('rep1')}/day" in html  # the rep-day page, where tasks are added


async def test_drill_down_from_the_organisation_to_a_customer(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: MutableClock,
) -> None:
    clock.set(NOW)
    seeded = await seed_day(sessionmaker, demo)
    await login_session(client, "exec")
    org = (await client.get("/org")).text
    region = demo.units["Asia Pacific"] if "Asia Pacific" in demo.units else None
    region_links = re.findall(r'href="/team/units/([0-9a-f-]+)"', org)
    assert region_links, "the organisation view links every region and team"
    region = region or UUID(region_links[0])
    region_page = (await client.get(f"/team/units/{region}")).text
    team = demo.units["Shanghai Team 1"]
    assert f'href="/team/units/{team}"' in region_page
    team_page = await client.get(f"/team/units/{team}")
    assert team_page.status_code == 200 and f'href="/team/reps/{demo.user("rep1")}"' in team_page.text
    rep_page = await client.get(f"/team/reps/{demo.user('rep1')}")
    assert rep_page.status_code == 200
    assert f'href="/customers/{seeded["customers"][0]}"' in rep_page.text
    assert f"/team/reps/{demo.user('rep1')}/day" in rep_page.text
    customer = await client.get(f"/customers/{seeded['customers'][0]}")
    assert customer.status_code == 200


async def test_out_of_scope_units_and_reps_are_404(
    client: AsyncTestClient[Any], demo: Demo, clock: MutableClock
) -> None:
    clock.set(NOW)
    await login_session(client, "manager1")
    assert (await client.get(f"/team/units/{demo.units['Shanghai Team 2']}")).status_code == 404
    assert (await client.get(f"/team/reps/{demo.user('rep2')}")).status_code == 404
    assert (await client.get(f"/team/units/{uuid4()}")).status_code == 404
    await login_session(client, "rep1")
    assert (await client.get("/team")).status_code in (401, 403)
