"""The escalate sweep's rules one at a time: team rungs, catch-up, org settings, reopen, visits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.access import Principal, Scope
from server.core.services import provide_services
from server.db.models import Checkin, Customer, Escalation, OrgSettings, User
from server.jobs.registry import run_job
from server.services.escalations.inbox import EscalationInbox
from tests.conftest import Demo
from tests.integration.escalations.test_ladder_scenario import (
    Play,
    add_order,
    escalations_about,
    history,
    hold_pace,
    judged_on,
    pushes_about,
    put_far_behind_on_visits,
    quiet_december,
    utc,
)

SHANGHAI = "Asia/Shanghai"


async def set_org(sessionmaker: async_sessionmaker[AsyncSession], **values: Any) -> None:
    async with sessionmaker() as session:
        await session.execute(update(OrgSettings).values(**values))
        await session.commit()


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, at: datetime
) -> dict[str, Any]:
    result = await run_job("escalate", sessionmaker, settings, at)
    assert result is not None
    return result


async def steer(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, rep: UUID, at: datetime, pace: str
) -> None:
    """Hold a Shanghai rep's month-to-date pace as of the day the sweep judges at `at`."""
    await hold_pace(sessionmaker, settings, rep, judged_on(at, SHANGHAI), Decimal(pace))


async def test_a_team_behind_goes_to_the_manager_above_then_the_executive(
    demo: Demo, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    rep1, rep5, team1 = demo.user("rep1"), demo.user("rep5"), demo.units["Shanghai Team 1"]
    await quiet_december(sessionmaker, demo, {"rep1", "rep5"})
    await set_org(sessionmaker, escalation_climb_h=240)  # keep the time climb out of this test
    schedule = [(utc(1, 0), Decimal("0.75")), (utc(4, 19), Decimal("0.65"))]
    play = Play(
        sessionmaker,
        settings,
        {rep1: SHANGHAI, rep5: SHANGHAI},
        utc(2, 20),
        utc(4, 20),
        {rep1: schedule, rep5: schedule},
        jobs=("escalate",),
    )
    await play.until(utc(2, 20))
    async with sessionmaker() as session:
        (team,) = await escalations_about(session, team1)
        assert (team.subject_type, team.severity, team.level) == ("org_unit", "orange", 2)
        assert team.dedup_key == f"pace_revenue:org_unit:{team1}:2026-12"
        # Level 2 of a team is the manager above the team's own manager: the region director.
        assert await pushes_about(session, team.id) == [demo.user("director1")]
        (rep_escalation,) = await escalations_about(session, rep1)
        assert (rep_escalation.severity, rep_escalation.level) == ("orange", 2)
        assert await pushes_about(session, rep_escalation.id) == [demo.user("manager1")]
    await play.until(utc(4, 20))
    async with sessionmaker() as session:
        (team,) = await escalations_about(session, team1)
        assert (team.severity, team.level) == ("red", 3)
        assert await pushes_about(session, team.id) == [demo.user("director1"), demo.user("exec")]


async def test_a_missed_sweep_catches_the_climb_up_at_once(
    demo: Demo, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    rep1 = demo.user("rep1")
    await quiet_december(sessionmaker, demo, {"rep1"})
    await steer(sessionmaker, settings, rep1, utc(2, 20), "0.85")
    await sweep(sessionmaker, settings, utc(2, 20))
    await steer(sessionmaker, settings, rep1, utc(6, 22), "0.85")
    # Thursday 04:00 to Monday 06:00 in Shanghai, no sweep in between: 50 business hours (the
    # weekend does not count), so both steps have passed.
    result = await sweep(sessionmaker, settings, utc(6, 22))
    assert result["climbed"] == 1
    async with sessionmaker() as session:
        (escalation,) = await escalations_about(session, rep1)
        assert escalation.level == 3
        assert escalation.level_changed_at == utc(6, 20)  # when the second step fell due (Mon 04:00)
        assert await history(session, escalation.id) == [
            ("opened", None, 1, "yellow"),
            ("climbed", 1, 3, "yellow"),
        ]
        assert await pushes_about(session, escalation.id) == [rep1, demo.user("exec")]


async def test_climb_hours_and_thresholds_come_from_org_settings(
    demo: Demo, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    rep1 = demo.user("rep1")
    await quiet_december(sessionmaker, demo, {"rep1"})
    # Dec 2 is the second working day: far behind, but too early to warn.
    await steer(sessionmaker, settings, rep1, utc(2, 2), "0.3")
    assert "opened" not in await sweep(sessionmaker, settings, utc(2, 2))
    # 92% of pace is green by default, yellow once the org warns from a 5% lag.
    await steer(sessionmaker, settings, rep1, utc(2, 20), "0.92")
    assert "opened" not in await sweep(sessionmaker, settings, utc(2, 20))
    await set_org(sessionmaker, pace_yellow=Decimal("0.05"), escalation_climb_h=4)
    assert (await sweep(sessionmaker, settings, utc(3, 0)))["opened"] == 1
    await sweep(sessionmaker, settings, utc(3, 3))
    async with sessionmaker() as session:
        (escalation,) = await escalations_about(session, rep1)
        assert (escalation.severity, escalation.level) == ("yellow", 1)
    await sweep(sessionmaker, settings, utc(3, 4))
    await sweep(sessionmaker, settings, utc(3, 8))
    async with sessionmaker() as session:
        (escalation,) = await escalations_about(session, rep1)
        climbs = [e for e in await history(session, escalation.id) if e[0] == "climbed"]
        assert climbs == [("climbed", 1, 2, "yellow"), ("climbed", 2, 3, "yellow")]


async def test_behind_again_reopens_the_same_thread_but_a_manual_resolve_holds(
    demo: Demo, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    rep1, manager1 = demo.user("rep1"), demo.user("manager1")
    await quiet_december(sessionmaker, demo, {"rep1"})
    await steer(sessionmaker, settings, rep1, utc(2, 20), "0.85")
    await sweep(sessionmaker, settings, utc(2, 20))
    await steer(sessionmaker, settings, rep1, utc(3, 2), "1.0")
    await sweep(sessionmaker, settings, utc(3, 2))
    await sweep(sessionmaker, settings, utc(3, 8))
    await steer(sessionmaker, settings, rep1, utc(3, 20), "0.85")
    assert (await sweep(sessionmaker, settings, utc(3, 20)))["reopened"] == 1
    async with sessionmaker() as session:
        (escalation,) = await escalations_about(session, rep1)
        assert (escalation.state, escalation.opened_at, escalation.resolved_at) == ("open", utc(3, 20), None)
        assert [e[0] for e in await history(session, escalation.id)] == ["opened", "resolved", "reopened"]
        assert await pushes_about(session, escalation.id) == [rep1, rep1]  # told again: a new episode
        manager = await session.get(User, manager1)
        principal = Principal(
            manager.id, manager.email, manager.name, "manager", manager.org_unit_id, SHANGHAI, None
        )
    async with provide_services(sessionmaker, settings) as services:
        access = await Scope.load(services.session, principal)
        await services.get(EscalationInbox).resolve(
            principal, access, escalation.id, "coached; pipeline is fine"
        )
    assert (await sweep(sessionmaker, settings, utc(4, 2)))["kept_resolved"] == 1
    await steer(sessionmaker, settings, rep1, utc(4, 8), "0.75")  # worse than when it was resolved
    assert (await sweep(sessionmaker, settings, utc(4, 8)))["reopened"] == 1
    async with sessionmaker() as session:
        (escalation,) = await escalations_about(session, rep1)
        assert (escalation.state, escalation.severity, escalation.level) == ("open", "orange", 2)
        # The executive (the rung above the resolving manager) was told of the manual resolve.
        told = await pushes_about(session, escalation.id)
        assert sorted(map(str, told)) == sorted(map(str, [rep1, rep1, demo.user("exec"), manager1]))


async def test_visits_pace_is_a_rule_of_its_own(
    demo: Demo, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """The demo's November, with two Shanghai reps far behind on visits: one catches up and its
    escalation resolves, the other stays open."""
    catching_up, other = demo.user("rep3"), demo.user("rep5")
    for rep in (catching_up, other):
        await put_far_behind_on_visits(sessionmaker, rep, date(2026, 11, 1))
    now = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    await sweep(sessionmaker, settings, now)
    async with sessionmaker() as session:
        red = set(
            await session.scalars(
                select(Escalation.subject_id).where(
                    Escalation.rule == "pace_visits", Escalation.severity == "red"
                )
            )
        )
        assert {catching_up, other} <= red
        visits = [e for e in await escalations_about(session, catching_up) if e.rule == "pace_visits"]
        assert len(visits) == 1 and visits[0].dedup_key == f"pace_visits:user:{catching_up}:2026-11"
        assert visits[0].snapshot["metric"] == "visits" and Decimal(visits[0].snapshot["pace"]) < Decimal(
            "0.7"
        )
        assert (visits[0].severity, visits[0].level) == ("red", 3)
        customer = await session.scalar(
            select(Customer.id).where(Customer.owner_rep_id == catching_up).limit(1)
        )
        at = now - timedelta(hours=20)
        session.add_all(
            Checkin(
                id=uuid4(),
                rep_id=catching_up,
                customer_id=customer,
                checked_in_at=at,
                received_at=at,
                geo_status="verified",
                request_hash="t",
                checked_out_at=at + timedelta(minutes=10),
            )
            for _ in range(int(Decimal(visits[0].snapshot["expected"])) + 1)
        )
        await session.commit()
    await sweep(sessionmaker, settings, now + timedelta(minutes=15))
    await sweep(sessionmaker, settings, now + timedelta(minutes=30))
    async with sessionmaker() as session:
        states = {e.subject_id: e.state for e in await session.scalars(select(Escalation))}
    assert states.pop(catching_up) == "resolved"
    assert states[other] == "open" and set(states.values()) == {"open"}  # the others: still behind


async def test_a_steady_sweep_writes_only_what_changed(
    demo: Demo, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Still failing as before: one set-based UPDATE for every open escalation (last seen now),
    not one per row; a changed figure rewrites that escalation's snapshot, nothing else."""
    rep1 = demo.user("rep1")
    await quiet_december(sessionmaker, demo, {"rep1"})
    await steer(sessionmaker, settings, rep1, utc(2, 20), "0.85")
    assert (await sweep(sessionmaker, settings, utc(2, 20)))["opened"] >= 1
    async with sessionmaker() as session:
        (before,) = await escalations_about(session, rep1)
        open_count = len(list(await session.scalars(select(Escalation.id).where(Escalation.state == "open"))))
    updates: list[tuple[str, bool]] = []

    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, many: bool) -> None:
        # (SQLite's sweep first takes the writer lock with an UPDATE of no row: not counted.)
        if statement.lstrip().upper().startswith("UPDATE ESCALATIONS") and "0 = 1" not in statement:
            updates.append((statement, many))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await sweep(sessionmaker, settings, utc(2, 20, 15))
        assert len(updates) == 1 and not updates[0][1]  # however many are open
        async with sessionmaker() as session:
            (after,) = await escalations_about(session, rep1)
            assert after.last_seen_at == utc(2, 20, 15) and after.snapshot == before.snapshot
            seen_now = await session.scalar(
                select(func.count()).where(
                    Escalation.state == "open", Escalation.last_seen_at == utc(2, 20, 15)
                )
            )
            assert seen_now == open_count > 0
        updates.clear()
        async with sessionmaker() as session:  # an order for rep1: same severity, other figures
            await add_order(session, rep1, Decimal("10.00"), judged_on(utc(2, 20), SHANGHAI))
            await session.commit()
        await sweep(sessionmaker, settings, utc(2, 20, 30))
        rewrites = [statement for statement, _many in updates if "snapshot" in statement]
        assert len(rewrites) == 1 and len(updates) <= 2  # the one snapshot rewritten (+ the others seen)
        async with sessionmaker() as session:
            (moved,) = await escalations_about(session, rep1)
            assert Decimal(moved.snapshot["actual"]) == Decimal(before.snapshot["actual"]) + Decimal("10.00")
            assert (moved.severity, moved.level, moved.last_seen_at) == (
                before.severity,
                before.level,
                utc(2, 20, 30),
            )
            assert [e[0] for e in await history(session, moved.id)] == ["opened"]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
