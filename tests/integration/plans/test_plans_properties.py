"""Property test: random sequences of plan operations over a small org keep the plan adding up.

Each example builds its own company (two teams, three reps, a manager, two executives and an
admin) and runs breakdowns (org and time, every method), submissions, approvals (sometimes by
the submitter), returns, adjustments in both modes and sizes around the ±15% line, decisions on
requests, re-plans, reps moving between teams and the clock moving on. Every operation runs in
its own transaction through the services, as a request would (4xx = nothing written). After
every step:
- the invariant holds over every approved target (domain.plan_invariant.violations);
- an adjustment applied directly left the target and everything above it within 15% of its
  last approved baseline (the guard is cumulative, so chained steps cannot pass it);
- a step by a manager changed no closed period; nobody approved their own submission.
Examples are few (the suite stays fast) and derandomized (CI is reproducible).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.access import Principal, Scope
from server.core.errors import ProblemError
from server.core.services import Services
from server.db.engine import create_engine
from server.db.models import OrgUnit, Target, TargetAdjustment, User
from server.domain.plan_invariant import PlanCell, violations
from server.services.plans.adjustments import AdjustmentsService
from server.services.plans.breakdown import FINER, BreakdownService
from server.services.plans.targets import PlansService
from server.services.plans.workflow import PlanWorkflowService
from tests.conftest import MutableClock

ZONE = "Asia/Shanghai"
FACTORS = ("0.85", "0.8499", "0.95", "1.05", "1.10", "1.15", "1.1501", "1.30", "0.70", "0")
OPERATIONS = (
    "breakdown", "breakdown", "breakdown", "submit", "approve", "approve", "return_", "adjust", "adjust",
    "adjust", "decide", "decide", "replan", "move", "advance",
)  # fmt: skip


@dataclass
class World:
    company: UUID
    teams: list[UUID]
    reps: list[UUID]
    people: dict[str, Principal]
    clock: MutableClock
    root: UUID | None = None
    scope_ids: set[UUID] = field(default_factory=set)
    labels: dict[UUID, str] = field(default_factory=dict)  # stable order, whatever the UUIDs


async def build_world(session: AsyncSession, clock: MutableClock) -> World:
    company = OrgUnit(id=uuid4(), name=f"Co {uuid4().hex[:6]}", kind="company", timezone=ZONE)
    teams = [
        OrgUnit(id=uuid4(), parent_id=company.id, name=f"Team {n}", kind="team", timezone=ZONE)
        for n in (1, 2)
    ]
    session.add(company)
    await session.flush()
    session.add_all(teams)
    await session.flush()
    people: dict[str, Principal] = {}
    reps = []
    for name, role, unit in (
        ("manager", "manager", company.id),
        ("exec1", "executive", company.id),
        ("exec2", "executive", company.id),
        ("admin", "admin", company.id),
        ("rep1", "rep", teams[0].id),
        ("rep2", "rep", teams[0].id),
        ("rep3", "rep", teams[1].id),
    ):
        user = User(id=uuid4(), email=f"{name}-{uuid4().hex[:8]}@p.example", name=name, role=role,
                    org_unit_id=unit, timezone=ZONE)  # fmt: skip
        session.add(user)
        people[name] = Principal(user.id, user.email, name, role, unit, ZONE, None)
        if role == "rep":
            reps.append(user.id)
    await session.commit()
    world = World(company.id, [t.id for t in teams], reps, people, clock)
    world.scope_ids = {company.id, *world.teams, *reps}
    world.labels = {company.id: "0", world.teams[0]: "1", world.teams[1]: "2"}
    world.labels.update({rep: f"3{n}" for n, rep in enumerate(reps)})
    return world


async def approved_cells(session: AsyncSession, world: World) -> dict[UUID, Target]:
    rows = await session.scalars(
        select(Target).where(Target.scope_id.in_(world.scope_ids), Target.status == "approved")
    )
    return {t.id: t for t in rows}


def check_invariant(cells: dict[UUID, Target], counted: bool) -> None:
    plan = [
        PlanCell(
            t.id, (t.scope, t.scope_id), t.granularity, t.period_start, t.period_end, t.amount, t.parent_id
        )
        for t in cells.values()
    ]
    assert violations(plan, counted=counted) == []


def within_allowance(target: Target) -> bool:
    baseline = target.baseline_amount if target.baseline_amount is not None else target.amount
    return abs(target.amount - baseline) <= baseline * Decimal("0.15")


class Run:
    """One example: a world, a session factory, and Hypothesis drawing the next operation."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, world: World, draw: Any
    ):
        self.sessions, self.settings, self.world, self.draw = sessions, settings, world, draw
        self.metric = "revenue"

    async def op(self, actor: str, work: Any) -> Any:
        """Run `work(services, principal, access)` in its own transaction; 4xx -> rolled back."""
        principal = self.world.people[actor]
        async with self.sessions() as session:
            services = Services(session=session, settings=self.settings, clock=self.world.clock)
            access = await Scope.load(session, principal)
            try:
                result = await work(services, principal, access)
            except ProblemError as problem:
                await session.rollback()
                assert 400 <= problem.status_code < 500, problem.detail
                return problem
            await session.commit()
            return result

    async def targets(self, *statuses: str) -> list[Target]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Target)
                .where(Target.scope_id.in_(self.world.scope_ids), Target.status.in_(statuses),
                       Target.metric == self.metric)
            )  # fmt: skip
            labels = self.world.labels
            return sorted(
                rows.all(), key=lambda t: (t.period_start, t.granularity, labels[t.scope_id], t.version)
            )

    async def step(self) -> None:
        name = self.draw(st.sampled_from(OPERATIONS))
        before = await self.snapshot()
        actor = await getattr(self, name)()
        after = await self.snapshot()
        async with self.sessions() as session:
            check_invariant(await approved_cells(session, self.world), counted=self.metric != "revenue")
        today = self.world.clock.local_date(ZONE)
        if actor not in ("exec1", "exec2", "admin"):
            moved = [
                i
                for i, (end, amount) in before.items()
                if end < today and after.get(i, (end, amount))[1] != amount
            ]
            assert not moved, f"{name} by {actor} changed a closed period"

    async def snapshot(self) -> dict[UUID, tuple[date, Decimal]]:
        return {t.id: (t.period_end, t.amount) for t in await self.targets("approved")}

    # -- operations ---------------------------------------------------------------------------

    async def breakdown(self) -> str:
        live = await self.targets("draft", "returned", "approved")
        if not live:
            return "manager"
        parent = self.draw(st.sampled_from(live))
        dimension = self.draw(st.sampled_from(("org", "time")))
        if dimension == "org":
            method = self.draw(st.sampled_from(("even", "last_period", "explicit")))

            async def split(services: Services, principal: Principal, access: Scope) -> Any:
                shares = None
                if method == "explicit" and parent.scope == "org_unit":
                    from server.core.org import OrgTree

                    tree = await OrgTree.load(services.session)
                    _, children = await services.get(BreakdownService).org_children(tree, parent.scope_id)
                    cuts = self.draw(st.lists(st.integers(0, 100), min_size=len(children) - 1,
                                              max_size=len(children) - 1).map(sorted))  # fmt: skip
                    edges = [0, *cuts, 100]
                    shares = {c: Decimal(edges[i + 1] - edges[i]) for i, c in enumerate(children)}
                target = await services.get(PlansService).get(access, parent.id)
                return await services.get(BreakdownService).by_org(principal, target, method, shares)

            await self.op("manager", split)
        else:
            finer = FINER[parent.granularity]
            if not finer:
                return "manager"
            granularity = self.draw(st.sampled_from(finer))

            async def split_time(services: Services, principal: Principal, access: Scope) -> Any:
                target = await services.get(PlansService).get(access, parent.id)
                return await services.get(BreakdownService).by_time(principal, target, granularity)

            await self.op("manager", split_time)
        return "manager"

    async def _transition(
        self, actor: str, statuses: tuple[str, ...], action: str, target_id: UUID | None = None
    ) -> str:
        candidates = [t for t in await self.targets(*statuses) if target_id in (None, t.id)]
        if not candidates:
            return actor
        chosen = self.draw(st.sampled_from(candidates))

        async def move(services: Services, principal: Principal, access: Scope) -> Any:
            target = await services.get(PlansService).get(access, chosen.id)
            return await services.get(PlanWorkflowService).transition(
                principal, target, action, "Please revise"
            )

        result = await self.op(actor, move)
        if action == "approve" and chosen.submitted_by == self.world.people[actor].id:
            assert isinstance(result, ProblemError), "approved own plan"
        return actor

    async def submit(self, target_id: UUID | None = None) -> str:
        actor = self.draw(st.sampled_from(("manager", "exec1")))
        return await self._transition(actor, ("draft", "returned"), "submit", target_id)

    async def approve(self, target_id: UUID | None = None) -> str:
        actor = self.draw(st.sampled_from(("exec1", "exec2", "admin")))
        await self._transition(actor, ("submitted",), "approve", target_id)
        if target_id is not None:  # the setup's plan: refused for the submitter, so another approves
            await self._transition(
                "exec2" if actor == "exec1" else "exec1", ("submitted",), "approve", target_id
            )
        return actor

    async def return_(self) -> str:
        return await self._transition("exec2", ("submitted",), "return")

    async def adjust(self) -> str:
        approved = await self.targets("approved")
        if not approved:
            return "manager"
        chosen = self.draw(st.sampled_from(approved))
        factor = Decimal(self.draw(st.sampled_from(FACTORS)))
        quantum = Decimal("0.01") if self.metric == "revenue" else Decimal(1)
        new_amount = (chosen.amount * factor).quantize(quantum)
        mode = self.draw(st.sampled_from(("rebalance", "parent")))
        actor = self.draw(st.sampled_from(("manager", "manager", "exec1")))

        async def adjust(services: Services, principal: Principal, access: Scope) -> Any:
            target = await services.get(PlansService).get(access, chosen.id)
            return await services.get(AdjustmentsService).request(
                principal, target, new_amount, "Field news", mode
            )

        result = await self.op(actor, adjust)
        if isinstance(result, TargetAdjustment) and result.status == "applied":
            async with self.sessions() as session:
                chain = await session.get(Target, chosen.id)
                while chain is not None:
                    assert within_allowance(chain), (
                        f"{chain.granularity} {chain.amount} vs {chain.baseline_amount}"
                    )
                    chain = await session.get(Target, chain.parent_id) if chain.parent_id else None
        return actor

    async def decide(self) -> str:
        async with self.sessions() as session:
            pending = list(
                (
                    await session.scalars(
                        select(TargetAdjustment)
                        .join(Target, Target.id == TargetAdjustment.target_id)
                        .where(
                            Target.scope_id.in_(self.world.scope_ids), TargetAdjustment.status == "pending"
                        )
                    )
                ).all()
            )
            by_target = {t.id: t for t in await self.targets("approved", "superseded")}
            labels = self.world.labels

            def order(a: TargetAdjustment) -> tuple[Any, ...]:
                target = by_target.get(a.target_id)
                where = (target.period_start, target.granularity, labels[target.scope_id]) if target else ()
                return (a.requested_at, where, a.new_amount)

            pending.sort(key=order)
        if not pending:
            return "exec2"
        chosen = self.draw(st.sampled_from(pending))
        actor = self.draw(st.sampled_from(("exec1", "exec2", "admin")))
        approve = self.draw(st.booleans())

        async def decide(services: Services, principal: Principal, access: Scope) -> Any:
            adjustments = services.get(AdjustmentsService)
            adjustment = await adjustments.get(access, chosen.id)
            return await adjustments.decide(principal, adjustment, approve, None)

        result = await self.op(actor, decide)
        if chosen.requested_by == self.world.people[actor].id:
            assert isinstance(result, ProblemError), "decided own adjustment"
        return actor

    async def replan(self) -> str:
        approved = await self.targets("approved")
        if not approved:
            return "manager"
        chosen = self.draw(st.sampled_from(approved))
        factor = Decimal(self.draw(st.sampled_from(("0.9", "1.2", "1.5"))))
        quantum = Decimal("0.01") if self.metric == "revenue" else Decimal(1)

        async def replan(services: Services, principal: Principal, access: Scope) -> Any:
            plans = services.get(PlansService)
            target = await plans.get(access, chosen.id)
            return await plans.replan(principal, access, target, (chosen.amount * factor).quantize(quantum))

        draft = await self.op("manager", replan)
        if isinstance(draft, Target) and self.draw(st.booleans()):  # and through approval at once
            await self._transition("manager", ("draft",), "submit", draft.id)
            await self._transition("exec1", ("submitted",), "approve", draft.id)
            return "exec1"
        return "manager"

    async def move(self) -> str:
        rep = self.draw(st.sampled_from(self.world.reps))
        team = self.draw(st.sampled_from(self.world.teams))
        async with self.sessions() as session:
            user = await session.get(User, rep)
            assert user is not None
            user.org_unit_id = team
            await session.commit()
        return "admin"

    async def advance(self) -> str:
        self.world.clock.advance(days=self.draw(st.integers(5, 45)))
        return "manager"


async def run_example(settings: Settings, draw: Any) -> None:
    engine = create_engine(settings)
    try:
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        clock = MutableClock(datetime(2026, 9, 20, 2, 0, tzinfo=UTC))
        async with sessions() as session:
            world = await build_world(session, clock)
        run = Run(sessions, settings, world, draw)
        run.metric = draw(st.sampled_from(("revenue", "revenue", "visits")))
        amount = Decimal(draw(st.sampled_from(("1200000.00", "1000.01", "30", "10", "7", "1200000.00", "0"))))
        if run.metric != "revenue":
            amount = amount.to_integral_value()

        async def create(services: Services, principal: Principal, access: Scope) -> Any:
            return await services.get(PlansService).create(
                principal, access, scope="org_unit", scope_id=world.company, metric=run.metric,
                granularity="year", period_start=date(2026, 1, 1), amount=amount,
            )  # fmt: skip

        created = await run.op("manager", create)
        assert isinstance(created, Target)
        for _ in range(draw(st.integers(1, 4))):  # a plan taking shape, then approved as a whole
            await run.breakdown()
        await run.submit(created.id)
        await run.approve(created.id)
        for _ in range(draw(st.integers(6, 16))):
            await run.step()
    finally:
        await engine.dispose()


@hypothesis_settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    # Each example is a few hundred statements: shrinking a failure would take minutes, and the
    # printed draws already replay it (derandomized), so shrinking is left out.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.heavy
@given(data=st.data())
def test_random_plan_operations_keep_the_plan_whole(settings: Settings, data: st.DataObject) -> None:
    asyncio.run(run_example(settings, data.draw))
