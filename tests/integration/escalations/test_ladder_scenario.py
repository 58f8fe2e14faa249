"""Thirty days of December played with `at`: the escalation ladder and the morning digests.

Three reps are steered by holding their month-to-date revenue pace on a schedule (orders, and
one return, inserted directly); every other rep covers their team's whole month on Dec 1, so
these three are the only subjects behind. Sweeps run every 6 hours, digests at :15/:30 around
07:30 local in Shanghai (23:30Z) and Los Angeles (15:30Z).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.services import provide_services
from server.db.models import (
    Customer,
    Digest,
    Escalation,
    EscalationEvent,
    Notification,
    Order,
    OrgSettings,
    Target,
    User,
)
from server.domain.worktime import pace_as_of
from server.jobs.registry import run_job
from server.services.plans.progress import ProgressService
from tests.conftest import Demo, MutableClock, bearer

DEC_1 = date(2026, 12, 1)
SHANGHAI_MANAGERS = ("director1", "manager1", "manager3")
LA_MANAGERS = ("director2", "manager2", "manager4")


def utc(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def put_far_behind_on_visits(
    sessionmaker: async_sessionmaker[AsyncSession], rep_id: UUID, month_start: date
) -> None:
    """The rep's approved visits target for the month, ten times what it was: far behind, red."""
    async with sessionmaker() as session:
        result = await session.execute(
            update(Target)
            .where(
                Target.scope == "user",
                Target.scope_id == rep_id,
                Target.metric == "visits",
                Target.granularity == "month",
                Target.period_start == month_start,
                Target.status == "approved",
            )
            .values(amount=Target.amount * 10 + 100)
        )
        assert result.rowcount == 1  # type: ignore[attr-defined]
        await session.commit()


async def add_order(session: AsyncSession, rep_id: UUID, amount: Decimal, on: date) -> None:
    customer = await session.scalar(select(Customer.id).where(Customer.owner_rep_id == rep_id).limit(1))
    session.add(
        Order(
            id=uuid4(),
            customer_id=customer,
            rep_id=rep_id,
            amount=amount,
            currency="USD",
            ordered_on=on,
            source="api",
            created_at=datetime.now(UTC),
        )
    )


# These December plays keep the company's working day closing at midnight, so pace is judged
# on the local date of a working day (the day-end rule has its own test in test_fortnight.py).
DAY_END = time(0)


def judged_on(at: datetime, timezone: str) -> date:
    """The day the sweep judges pace on at `at`: the last completed working day (no holidays)."""
    return pace_as_of(at.astimezone(ZoneInfo(timezone)), end=DAY_END)


async def hold_pace(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    rep_id: UUID,
    as_of: date,
    pace: Decimal,
) -> None:
    """Make the rep's month-to-date revenue exactly `pace` x expected as of their local date."""
    async with provide_services(sessionmaker, settings) as services:
        item = await services.get(ProgressService).for_one("user", rep_id, as_of)
        assert item is not None, "the rep needs an approved monthly revenue target"
        amount = (item.progress.expected_to_date * pace - item.actual).quantize(Decimal("0.01"))
        if amount:  # below zero this is a return (credit note)
            await add_order(services.session, rep_id, amount, as_of)


async def quiet_december(
    sessionmaker: async_sessionmaker[AsyncSession], demo: Demo, steered: set[str]
) -> None:
    """Only revenue rules, and every rep not steered carries their team's whole December."""
    async with sessionmaker() as session:
        await session.execute(update(OrgSettings).values(work_end=DAY_END.strftime("%H:%M")))
        await session.execute(update(Target).where(Target.metric == "visits").values(status="draft"))
        team_targets = dict(
            (
                await session.execute(
                    select(Target.scope_id, Target.amount).where(
                        Target.scope == "org_unit",
                        Target.granularity == "month",
                        Target.period_start == DEC_1,
                    )
                )
            )
            .tuples()
            .all()
        )
        reps = (
            await session.execute(select(User.id, User.email, User.org_unit_id).where(User.role == "rep"))
        ).all()
        for rep in reps:
            if rep.email.split("@")[0] not in steered:
                await add_order(session, rep.id, team_targets[rep.org_unit_id] * Decimal("1.5"), DEC_1)
        await session.commit()


@dataclass
class Play:
    """Runs the scheduled sweeps in time order up to a moment, holding each steered rep's pace."""

    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    reps: dict[UUID, str]  # rep id -> time zone
    start: datetime
    end: datetime
    schedules: dict[UUID, list[tuple[datetime, Decimal]]] = field(default_factory=dict)
    twins: set[datetime] = field(default_factory=set)  # moments when two sweeps race
    jobs: tuple[str, ...] = ("escalate", "digest")
    done_until: datetime | None = None
    results: list[tuple[datetime, str, dict[str, Any] | None]] = field(default_factory=list)

    def moments(self) -> list[tuple[datetime, str]]:
        found = []
        day = self.start.replace(hour=0, minute=0)
        while day <= self.end:
            found += [(day.replace(hour=h), "escalate") for h in (2, 8, 14, 20)]
            found += [(day.replace(hour=h, minute=m), "digest") for h in (15, 23) for m in (15, 30)]
            day += timedelta(days=1)
        return sorted(m for m in found if self.start <= m[0] <= self.end and m[1] in self.jobs)

    def pace_at(self, rep_id: UUID, at: datetime) -> Decimal:
        return [pace for since, pace in self.schedules[rep_id] if since <= at][-1]

    async def until(self, moment: datetime) -> None:
        for at, job in self.moments():
            if (self.done_until is not None and at <= self.done_until) or at > moment:
                continue
            if job == "escalate":
                for rep_id in self.schedules:
                    local = judged_on(at, self.reps[rep_id])
                    await hold_pace(self.sessionmaker, self.settings, rep_id, local, self.pace_at(rep_id, at))
            if at in self.twins:
                twin = f"{at:%Y-%m-%dT%H:%M}-twin"
                pair = await asyncio.gather(
                    run_job(job, self.sessionmaker, self.settings, at),
                    run_job(job, self.sessionmaker, self.settings, at, force_slot=twin),
                )
                self.results += [(at, job, r) for r in pair]
            else:
                self.results.append((at, job, await run_job(job, self.sessionmaker, self.settings, at)))
        self.done_until = moment


async def escalations_about(session: AsyncSession, subject_id: UUID) -> list[Escalation]:
    query = select(Escalation).where(Escalation.subject_id == subject_id).order_by(Escalation.opened_at)
    return list((await session.scalars(query.execution_options(populate_existing=True))).all())


async def history(
    session: AsyncSession, escalation_id: UUID
) -> list[tuple[str, int | None, int | None, str | None]]:
    rows = await session.execute(
        select(
            EscalationEvent.event,
            EscalationEvent.from_level,
            EscalationEvent.to_level,
            EscalationEvent.severity,
        )
        .where(EscalationEvent.escalation_id == escalation_id)
        .order_by(EscalationEvent.at, EscalationEvent.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def pushes_about(session: AsyncSession, escalation_id: UUID) -> list[UUID]:
    """Who was told about an escalation, in order."""
    rows = await session.scalars(
        select(Notification.user_id)
        .where(Notification.kind == "escalation", Notification.url == f"/escalations/{escalation_id}")
        .order_by(Notification.created_at)
    )
    return list(rows)


async def ack(
    client: AsyncTestClient[Any], clock: MutableClock, at: datetime, who: str, escalation_id: UUID
) -> None:
    clock.set(at)
    headers = await bearer(client, who)
    response = await client.post(
        f"/api/v1/escalations/{escalation_id}/ack", json={"note": f"{who} is on it"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "acknowledged"


@pytest.mark.heavy
async def test_thirty_days_on_the_ladder(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: MutableClock,
) -> None:
    rep1, rep2, rep3 = demo.user("rep1"), demo.user("rep2"), demo.user("rep3")
    manager1, manager2, execu = demo.user("manager1"), demo.user("manager2"), demo.user("exec")
    await quiet_december(sessionmaker, demo, {"rep1", "rep2", "rep3"})
    one, behind = Decimal("1"), Decimal("0.85")
    play = Play(
        sessionmaker,
        settings,
        {rep1: "Asia/Shanghai", rep2: "America/Los_Angeles", rep3: "Asia/Shanghai"},
        start=utc(1, 8),
        end=utc(31, 7, 59),
        schedules={
            # rep1 falls behind step by step (yellow, orange, red), recovers, flaps once, recovers.
            rep1: [
                (utc(1, 0), one),
                (utc(2, 19), behind),
                (utc(6, 19), Decimal("0.75")),
                (utc(8, 19), Decimal("0.65")),
                (utc(13, 19), Decimal("0.95")),
                (utc(14, 1), behind),
                (utc(14, 5), Decimal("0.95")),
                (utc(14, 15), one),
            ],
            # rep2 stays yellow and nobody acknowledges: the time climb.
            rep2: [(utc(1, 0), one), (utc(3, 7), behind), (utc(18, 7), one)],
            # rep3 stays yellow but their manager acknowledges: no climb.
            rep3: [(utc(1, 0), one), (utc(2, 19), behind), (utc(20, 19), one)],
        },
        twins={utc(2, 20), utc(4, 8)},  # an opening and a climb, each raced by two sweeps
    )

    # Dec 3 04:00 Shanghai: rep1 and rep3 open yellow at level 1, raced by two sweeps.
    await play.until(utc(2, 20))
    async with sessionmaker() as session:
        (esc1,) = await escalations_about(session, rep1)
        (esc3,) = await escalations_about(session, rep3)
        assert (esc1.severity, esc1.level, esc1.state) == ("yellow", 1, "open")
        assert esc1.dedup_key == f"pace_revenue:user:{rep1}:2026-12"
        assert esc1.snapshot["as_of"] == "2026-12-03" and Decimal(esc1.snapshot["pace"]) == behind
        assert await history(session, esc1.id) == [("opened", None, 1, "yellow")]
        assert await pushes_about(session, esc1.id) == [rep1]
    await ack(client, clock, utc(3, 1), "rep1", esc1.id)
    await ack(client, clock, utc(3, 1), "manager3", esc3.id)

    # Dec 7 (Mon) orange: up to the manager, and the acknowledgement no longer covers it.
    await play.until(utc(6, 20))
    async with sessionmaker() as session:
        (esc1,) = await escalations_about(session, rep1)
        assert (esc1.severity, esc1.level, esc1.state) == ("orange", 2, "open")
        assert await pushes_about(session, esc1.id) == [rep1, manager1]
    await ack(client, clock, utc(7, 1), "manager1", esc1.id)

    # Dec 9 red: to the executive.
    await play.until(utc(8, 20))
    async with sessionmaker() as session:
        (esc1,) = await escalations_about(session, rep1)
        assert (esc1.severity, esc1.level) == ("red", 3)
        assert await pushes_about(session, esc1.id) == [rep1, manager1, execu]

    # Dec 14: clear once, behind again (a return), then two clear sweeps resolve it.
    await play.until(utc(13, 20))
    async with sessionmaker() as session:
        (esc1,) = await escalations_about(session, rep1)
        assert (esc1.state, esc1.clear_count) == ("open", 1)
    await play.until(utc(14, 2))
    async with sessionmaker() as session:
        (esc1,) = await escalations_about(session, rep1)
        assert (esc1.state, esc1.clear_count, esc1.severity, esc1.level) == ("open", 0, "red", 3)
    await play.until(utc(14, 8))
    async with sessionmaker() as session:
        (esc1,) = await escalations_about(session, rep1)
        assert (esc1.state, esc1.clear_count) == ("open", 1)
    await play.until(utc(14, 14))
    async with sessionmaker() as session:
        (esc1,) = await escalations_about(session, rep1)
        assert esc1.state == "resolved" and esc1.resolved_at == utc(14, 14) and esc1.resolved_by is None

    await play.until(play.end)
    async with sessionmaker() as session:
        (esc1,) = await escalations_about(session, rep1)  # no flapping: one thread, never reopened
        assert await history(session, esc1.id) == [
            ("opened", None, 1, "yellow"),
            ("acknowledged", 1, 1, "yellow"),
            ("severity_changed", 1, 2, "orange"),
            ("acknowledged", 2, 2, "orange"),
            ("severity_changed", 2, 3, "red"),
            ("resolved", 3, 3, "red"),
        ]
        assert await pushes_about(session, esc1.id) == [rep1, manager1, execu]

        # rep2, never acknowledged: 24 h -> manager, 48 h -> executive, then capped at 72 h.
        (esc2,) = await escalations_about(session, rep2)
        assert esc2.opened_at == utc(3, 8)
        assert await history(session, esc2.id) == [
            ("opened", None, 1, "yellow"),
            ("climbed", 1, 2, "yellow"),
            ("climbed", 2, 3, "yellow"),
            ("resolved", 3, 3, "yellow"),
        ]
        climbs = await session.scalars(
            select(EscalationEvent.at)
            .where(EscalationEvent.escalation_id == esc2.id, EscalationEvent.event == "climbed")
            .order_by(EscalationEvent.at)
        )
        assert list(climbs) == [utc(4, 8), utc(5, 8)]
        assert await pushes_about(session, esc2.id) == [rep2, manager2, execu]
        assert esc2.resolved_at == utc(18, 14)

        # rep3, acknowledged at level 1 on Dec 3: still level 1 seventeen days later.
        (esc3,) = await escalations_about(session, rep3)
        assert [e[0] for e in await history(session, esc3.id)] == ["opened", "acknowledged", "resolved"]
        assert esc3.level == 1 and esc3.resolved_at == utc(21, 2)
        assert await pushes_about(session, esc3.id) == [rep3]

        # Nobody else fell behind, and no key ever had two open rows (the partial unique index).
        subjects = set(await session.scalars(select(Escalation.subject_id)))
        assert subjects == {rep1, rep2, rep3}
        assert await session.scalar(select(func.count()).select_from(Escalation)) == 3
        opened = await session.scalar(
            select(func.count()).select_from(EscalationEvent).where(EscalationEvent.event == "opened")
        )
        assert opened == 3
    raced = [r for at, job, r in play.results if at in play.twins and job == "escalate"]
    assert len(raced) == 4 and all(r is not None for r in raced)
    assert sum(r.get("opened", 0) for r in raced) == 2 and sum(r.get("climbed", 0) for r in raced) == 1

    await assert_one_digest_per_manager_per_morning(sessionmaker, demo)
    await assert_digests_carry_the_ladder(sessionmaker, demo, esc1.id, esc2.id)


async def assert_one_digest_per_manager_per_morning(
    sessionmaker: async_sessionmaker[AsyncSession], demo: Demo
) -> None:
    async with sessionmaker() as session:
        digests = (
            await session.execute(select(Digest.manager_id, Digest.local_date, Digest.created_at))
        ).all()
        pushes = (
            await session.execute(
                select(Notification.user_id, Notification.url).where(Notification.kind == "digest")
            )
        ).all()
    by_manager: dict[UUID, list[tuple[date, datetime]]] = {}
    for manager_id, day, created in digests:
        by_manager.setdefault(manager_id, []).append((day, created))
    assert set(by_manager) == {demo.user(m) for m in SHANGHAI_MANAGERS + LA_MANAGERS}
    for local in SHANGHAI_MANAGERS:
        days = sorted(by_manager[demo.user(local)])
        # The play starts at 16:00 in Shanghai, so the first sweep catches Dec 1 up; after that
        # 07:30 in Shanghai is 23:30Z the evening before, and the 23:15Z sweep was too early.
        # Digests come on working days only (no holidays in the demo's December).
        expected = [(DEC_1, utc(1, 15, 15))] + [
            (date(2026, 12, d), utc(d - 1, 23, 30)) for d in range(2, 32) if date(2026, 12, d).weekday() < 5
        ]
        assert days == expected
    for local in LA_MANAGERS:
        days = sorted(by_manager[demo.user(local)])
        assert days == [
            (date(2026, 12, d), utc(d, 15, 30)) for d in range(1, 31) if date(2026, 12, d).weekday() < 5
        ]
    # One push per digest, linking to its page: not one per event.
    assert sorted((u, url) for u, url in pushes) == sorted(
        (m, f"/digests/{d.isoformat()}") for m, d, _c in digests
    )


async def assert_digests_carry_the_ladder(
    sessionmaker: async_sessionmaker[AsyncSession], demo: Demo, esc1: UUID, esc2: UUID
) -> None:
    async with sessionmaker() as session:
        first = await session.scalar(
            select(Digest.content).where(
                Digest.manager_id == demo.user("manager1"), Digest.local_date == date(2026, 12, 3)
            )
        )
        climbed = await session.scalar(
            select(Digest.content).where(
                Digest.manager_id == demo.user("manager2"), Digest.local_date == date(2026, 12, 4)
            )
        )
        later = await session.scalar(
            select(Digest.content).where(
                Digest.manager_id == demo.user("manager1"), Digest.local_date == date(2026, 12, 4)
            )
        )
    assert [(c["escalation_id"], c["event"]) for c in first["escalations"]] == [(str(esc1), "opened")]
    assert [(c["escalation_id"], c["event"], c["level"]) for c in climbed["escalations"]] == [
        (str(esc2), "climbed", 2)
    ]
    assert later["escalations"] == []  # reported once, in the first digest after the change
    names = {row["name"] for row in first["pace"]}
    assert {"Rep 1", "Rep 5"} <= names
