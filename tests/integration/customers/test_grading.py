"""The nightly grade-customers job on the demo company: SQL == domain, idempotence, overrides
expiring, drops from A as signals and manager notifications, and the visit policy (both engines)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.services import Services, provide_services
from server.db.models import Customer, GradeChange, JobRun, Notification, Order
from server.domain.grading import classify_abc, rfm_scores
from server.jobs.grade_customers import notify_drops
from server.jobs.registry import run_job
from server.services.customers.grading import GradeDrop, GradingService, RegradeResult
from tests.conftest import Demo, MutableClock, login_session

TODAY = date(2026, 11, 18)  # the demo clock's date in Shanghai, the demo company's time zone


async def regrade(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, at: datetime
) -> RegradeResult:
    async with sessionmaker() as session:
        result = await Services(session, settings, Clock(fixed=at)).get(GradingService).regrade_all()
        await session.commit()
    return result


async def customers_by_id(session: AsyncSession) -> dict[UUID, Customer]:
    return {c.id: c for c in (await session.scalars(select(Customer))).all()}


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_job_grades_like_the_domain_rules_and_a_second_run_writes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo, clock: MutableClock
) -> None:
    async with sessionmaker() as session, session.begin():  # the seed graded them: start ungraded
        await session.execute(update(Customer).values(computed_grade=None, graded_at=None))
    result = await run_job("grade-customers", sessionmaker, settings, clock.now())
    assert result is not None and result["changed"] == 160 and result["companies"] == 1
    assert await run_job("grade-customers", sessionmaker, settings, clock.now()) is None  # slot = the day

    async with sessionmaker() as session:
        customers = await customers_by_id(session)
        window = (
            await session.execute(
                select(Order.customer_id, Order.amount, Order.ordered_on).where(
                    Order.ordered_on > TODAY - timedelta(days=365), Order.ordered_on <= TODAY
                )
            )
        ).all()
        history = await count(session, GradeChange)
        job = await session.scalar(select(JobRun).where(JobRun.job == "grade-customers"))
    assert job is not None and job.status == "ok"
    orders: dict[UUID, list[tuple[Decimal, date]]] = defaultdict(list)
    for customer_id, amount, ordered_on in window:
        orders[customer_id].append((Decimal(str(amount)), ordered_on))
    revenue = {cid: sum((a for a, _ in orders[cid]), Decimal(0)) for cid in customers}
    rfm = rfm_scores(
        {
            cid: (
                (TODAY - max(d for _, d in orders[cid])).days if orders[cid] else None,
                len(orders[cid]),
                revenue[cid],
            )
            for cid in customers
        }
    )
    assert {cid: c.computed_grade for cid, c in customers.items()} == classify_abc(revenue)
    assert {cid: (c.r_score, c.f_score, c.m_score) for cid, c in customers.items()} == {
        cid: tuple(score) for cid, score in rfm.items()
    }
    assert {c.grade for c in customers.values()} == {"A", "B", "C", "D"}
    assert history == sum(1 for c in customers.values() if c.grade != "D")  # every change recorded

    again = await regrade(sessionmaker, settings, clock.now())
    assert (again.changed, again.grade_changes, again.drops) == (0, 0, [])
    async with sessionmaker() as session:
        after = await customers_by_id(session)
        assert await count(session, GradeChange) == history
    assert {cid: c.updated_at for cid, c in after.items()} == {
        cid: c.updated_at for cid, c in customers.items()
    }


async def test_override_wins_until_it_expires_then_the_computed_grade_returns(
    client: AsyncTestClient[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    demo: Demo,
    clock: MutableClock,
    auth: Any,
) -> None:
    await regrade(sessionmaker, settings, clock.now())
    async with sessionmaker() as session:
        target = await session.scalar(
            select(Customer)
            .where(
                Customer.owner_rep_id == demo.user("rep1"),
                Customer.grade == "A",
                Customer.last_visit_on.is_not(None),
            )
            .limit(1)
        )
    assert target is not None
    until = TODAY + timedelta(days=2)
    response = await client.patch(
        f"/api/v1/customers/{target.id}",
        headers=await auth("manager1"),
        json={"grade_override": "C", "reason": "Closing two branches", "until": until.isoformat()},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer"]["grade"] == "C" and body["customer"]["computed_grade"] == "A"
    assert body["customer"]["next_visit_due"] == (target.last_visit_on + timedelta(days=30)).isoformat()
    assert body["explanation"]["source"] == "override"
    assert body["grade_history"][0] | {"at": None} == {
        "at": None, "old_grade": "A", "new_grade": "C", "source": "override",
        "reason": "Closing two branches", "signal": "drop_from_a", "changed_by": "Manager 1 (Shanghai)",
    }  # fmt: skip

    for days in (1, 2):  # through `until`, inclusive, the nightly regrade keeps the override
        await regrade(sessionmaker, settings, clock.now() + timedelta(days=days))
        async with sessionmaker() as session:
            assert (await session.get(Customer, target.id)).grade == "C"  # type: ignore[union-attr]
    expired = await regrade(sessionmaker, settings, clock.now() + timedelta(days=3))
    async with sessionmaker() as session:
        customer = await session.get(Customer, target.id)
        last = await session.scalar(
            select(GradeChange)
            .where(GradeChange.customer_id == target.id)
            .order_by(GradeChange.at.desc())
            .limit(1)
        )
    assert customer is not None and customer.grade == "A" and customer.grade_override is None
    assert customer.grade_override_until is None and customer.grade_override_reason is None
    assert last is not None and (last.source, last.old_grade, last.new_grade) == (
        "override_expired",
        "C",
        "A",
    )
    assert last.graded_on == TODAY + timedelta(days=3)
    assert expired.grade_changes >= 1


async def test_drop_from_a_is_a_signal_and_notifies_the_reps_manager_once(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo, clock: MutableClock
) -> None:
    await regrade(sessionmaker, settings, clock.now())
    async with sessionmaker() as session:
        star = await session.scalar(
            select(Customer).where(Customer.owner_rep_id == demo.user("rep1"), Customer.grade == "A").limit(1)
        )
        assert star is not None
        # Its orders slip out of the 365-day window: no revenue, so it falls to D.
        await session.execute(
            update(Order).where(Order.customer_id == star.id).values(ordered_on=TODAY - timedelta(days=400))
        )
        await session.commit()
    tomorrow = clock.now() + timedelta(days=1)
    result = await run_job("grade-customers", sessionmaker, settings, tomorrow)
    assert result is not None and result["drops_from_a"] >= 1
    assert result["notified"] == result["drops_from_a"]
    # Running again the same day: the slot is taken, and the regrade itself finds nothing new.
    assert await run_job("grade-customers", sessionmaker, settings, tomorrow) is None
    again = await regrade(sessionmaker, settings, tomorrow)
    assert (again.changed, again.drops) == (0, [])
    drop = GradeDrop(star.id, star.name, "D", star.owner_rep_id, star.org_unit_id, TODAY + timedelta(days=1))
    async with provide_services(sessionmaker, settings, Clock(fixed=tomorrow)) as services:
        assert await notify_drops(services, [drop]) == 0  # one note per customer per day
    async with sessionmaker() as session:
        change = await session.scalar(
            select(GradeChange)
            .where(GradeChange.customer_id == star.id, GradeChange.source == "regrade")
            .order_by(GradeChange.at.desc())
        )
        notes = (
            await session.scalars(select(Notification).where(Notification.url == f"/customers/{star.id}"))
        ).all()
    assert change is not None and (change.old_grade, change.new_grade, change.signal) == (
        "A",
        "D",
        "drop_from_a",
    )
    assert [(n.user_id, n.kind, n.dedup_key) for n in notes] == [
        (
            demo.user("manager1"),
            "grade_drop",
            f"grade-drop:{star.id}:{(TODAY + timedelta(days=1)).isoformat()}",
        )
    ]
    assert star.name in notes[0].title


async def test_visit_policy_is_read_by_all_changed_by_admins_and_moves_next_due(
    client: AsyncTestClient[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    demo: Demo,
    clock: MutableClock,
    auth: Any,
) -> None:
    await regrade(sessionmaker, settings, clock.now())
    read = await client.get("/api/v1/visit-policy", headers=await auth("rep1"))
    assert read.status_code == 200 and read.json()["intervals"] == {"A": 7, "B": 14, "C": 30, "D": 60}
    new = {"A": 3, "B": 10, "C": 21, "D": 45}
    for role in ("rep1", "manager1", "exec"):
        denied = await client.put("/api/v1/visit-policy", headers=await auth(role), json={"intervals": new})
        assert denied.status_code == 403, role
    bad = await client.put(
        "/api/v1/visit-policy", headers=await auth("admin"), json={"intervals": {**new, "B": 0}}
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "intervals.B"
    saved = await client.put("/api/v1/visit-policy", headers=await auth("admin"), json={"intervals": new})
    assert saved.status_code == 200 and saved.json()["intervals"] == new
    async with sessionmaker() as session:
        for customer in (await session.scalars(select(Customer))).all():
            if customer.last_visit_on is not None:
                expected = customer.last_visit_on + timedelta(days=new[customer.grade])
                assert customer.next_visit_due == expected, customer.name
    # The nightly regrade agrees with the refresh: nothing left to change.
    assert (await regrade(sessionmaker, settings, clock.now())).changed == 0
    detail_ok = await client.get("/api/v1/customers?grade=A&limit=1", headers=await auth("admin"))
    assert detail_ok.json()["items"][0]["visit_interval_days"] == 3


async def test_visit_policy_page_is_for_admins_and_shows_errors_next_to_fields(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    await login_session(client, "manager1")
    assert (await client.get("/admin/visit-policy")).status_code == 403
    client.cookies.clear()
    token = await login_session(client, "admin")
    page = await client.get("/admin/visit-policy")
    assert page.status_code == 200 and 'name="A"' in page.text and 'value="7"' in page.text
    invalid = await client.post(
        "/admin/visit-policy", data={"_csrf_token": token, "A": "0", "B": "14", "C": "abc", "D": "60"}
    )
    assert invalid.status_code == 422
    assert (
        'id="f-A-error"' in invalid.text
        and 'id="f-C-error"' in invalid.text
        and 'id="f-B-error"' not in invalid.text
    )
    saved = await client.post(
        "/admin/visit-policy",
        data={"_csrf_token": token, "A": "5", "B": "14", "C": "30", "D": "60"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/visit-policy"
    assert 'value="5"' in (await client.get("/admin/visit-policy")).text
