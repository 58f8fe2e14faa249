"""The manager's home (/team) and its drill-down: a unit's pace, today per rep, the field, the
blockers and what needs the viewer; and one rep's page (day, pace, customers).

Every part is one set-based query over the unit's reps (or one progress call per question),
never a query per rep. Pace is judged as of the last completed working day, like the ladder.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, func, or_, select

from server.core.access import Principal, Scope
from server.core.errors import not_found
from server.core.org import OrgTree, UnitInfo
from server.core.services import Service
from server.db.models import Checkin, Customer, Escalation, Promise, Target, TargetAdjustment, Task, User
from server.services.org.worktime import WorkCalendar
from server.services.plans.progress import ProgressService, ScopeProgress
from server.services.tasks.tasks import MOVED

FIELD_WINDOW = timedelta(hours=12)  # a check-in older than this does not place a rep "in the field"
_SEVERITY = case({"red": 3, "orange": 2, "yellow": 1}, value=Escalation.severity, else_=0)


@dataclass
class RepToday:
    """One rep's day so far: tasks by state, the latest check-in, pace."""

    id: UUID
    name: str
    unit_id: UUID | None
    unit_name: str
    local_date: date
    planned: int = 0
    done: int = 0
    in_progress: int = 0
    missed: int = 0  # skipped today, or still planned past its due time
    last_checkin: dict[str, Any] | None = None
    pace: dict[str, ScopeProgress | None] = field(default_factory=dict)

    @property
    def in_field(self) -> bool:
        return self.last_checkin is not None and self.last_checkin["checked_out_at"] is None


@dataclass
class UnitRow:
    unit: UnitInfo
    pace: dict[str, ScopeProgress | None]


@dataclass
class TeamView:
    unit: UnitInfo
    path: list[UnitInfo]  # from the top the viewer may see down to the unit
    as_of: date
    pace: dict[str, ScopeProgress | None]  # month / quarter revenue pace of the unit
    children: list[UnitRow]
    reps: list[RepToday]
    escalations_by_severity: dict[str, int]
    escalations: list[dict[str, Any]]
    promises: list[dict[str, Any]]
    needs_you: list[dict[str, Any]]

    @property
    def in_field(self) -> list[RepToday]:
        return [r for r in self.reps if r.last_checkin is not None]


class TeamService(Service):
    async def unit_view(self, principal: Principal, access: Scope, unit_id: UUID) -> TeamView:
        """A unit the caller may see, everything a manager needs at a glance (404 outside scope)."""
        tree = await OrgTree.load(self.session)
        unit = tree.units.get(unit_id)
        if unit is None or not access.sees_unit(unit_id):
            raise not_found("Org unit", unit_id, "org_unit_id")
        now = self.clock.now()
        subtree = tree.subtree(unit_id)
        calendar = await WorkCalendar.load(self.session, tree, subtree, now)
        as_of = calendar.pace_as_of(now, unit_id, unit.timezone)
        reps = await self._reps(tree, subtree, calendar, now)
        children = [tree.units[c] for c in tree.children.get(unit_id, [])]
        progress = self.ctx.get(ProgressService)
        unit_pace: dict[str, dict[UUID, ScopeProgress]] = {}
        rep_pace: dict[str, dict[UUID, ScopeProgress]] = {}
        for granularity in ("month", "quarter"):
            unit_ids = [unit_id, *(c.id for c in children)]
            unit_pace[granularity] = await progress.for_scopes(
                "org_unit", unit_ids, as_of, "revenue", granularity, tree=tree
            )
            rep_pace[granularity] = (
                await progress.for_scopes(
                    "user", [r.id for r in reps], as_of, "revenue", granularity, tree=tree
                )
                if reps
                else {}
            )
        for rep in reps:
            rep.pace = {g: rep_pace[g].get(rep.id) for g in rep_pace}
        await self._fill_today(reps, now)
        await self._fill_field(reps, now)
        escalations = await self._escalations(subtree)
        return TeamView(
            unit=unit,
            path=[tree.units[u] for u in reversed(tree.ancestors(unit_id)) if access.sees_unit(u)],
            as_of=as_of,
            pace={g: unit_pace[g].get(unit_id) for g in unit_pace},
            children=[UnitRow(c, {g: unit_pace[g].get(c.id) for g in unit_pace}) for c in children],
            reps=reps,
            escalations_by_severity=dict(Counter(e["severity"] for e in escalations)),
            escalations=escalations[:10],
            promises=await self._overdue_promises([r.id for r in reps], {r.id: r.local_date for r in reps}),
            needs_you=await self._needs_you(principal, subtree, escalations, [r.id for r in reps]),
        )

    async def rep_view(self, access: Scope, rep_id: UUID) -> dict[str, Any]:
        """One rep: today, month and quarter pace (revenue and visits), their customers."""
        rep = await self.session.scalar(select(User).where(User.id == rep_id, User.role == "rep"))
        if rep is None or not access.sees_user(rep.id, rep.org_unit_id) or access.principal.is_rep:
            raise not_found("Rep", rep_id, "rep_id")
        tree = await OrgTree.load(self.session)
        now = self.clock.now()
        calendar = await WorkCalendar.load(self.session, tree, [rep.org_unit_id], now)
        as_of = calendar.pace_as_of(now, rep.org_unit_id, rep.timezone)
        unit = tree.units.get(rep.org_unit_id) if rep.org_unit_id else None
        local_today = calendar.local_now(now, rep.timezone).date()
        today = RepToday(rep.id, rep.name, rep.org_unit_id, unit.name if unit else "", local_today)
        await self._fill_today([today], now)
        await self._fill_field([today], now)
        progress = self.ctx.get(ProgressService)
        pace = {
            (metric, granularity): (
                await progress.for_scopes("user", [rep.id], as_of, metric, granularity, tree=tree)
            ).get(rep.id)
            for metric in ("revenue", "visits")
            for granularity in ("month", "quarter")
        }
        customers = (
            await self.session.execute(
                select(Customer.id, Customer.name, Customer.grade, Customer.status, Customer.address)
                .where(Customer.owner_rep_id == rep.id, access.customer_clause(Customer))
                .order_by(Customer.status, Customer.grade, Customer.name)
                .limit(300)
            )
        ).all()
        return {
            "rep": rep,
            "unit": unit,
            "path": [tree.units[u] for u in reversed(tree.ancestors(rep.org_unit_id)) if access.sees_unit(u)]
            if rep.org_unit_id
            else [],
            "today": today,
            "as_of": as_of,
            "pace": pace,
            "customers": customers,
            "promises": await self._overdue_promises([rep.id], {rep.id: today.local_date}),
        }

    async def _reps(
        self, tree: OrgTree, units: list[UUID], calendar: WorkCalendar, now: datetime
    ) -> list[RepToday]:
        rows = await self.session.execute(
            select(User.id, User.name, User.org_unit_id, User.timezone)
            .where(User.role == "rep", User.active.is_(True), User.org_unit_id.in_(units))
            .order_by(User.name, User.id)
        )
        return [
            RepToday(
                r.id,
                r.name,
                r.org_unit_id,
                tree.units[r.org_unit_id].name,
                calendar.local_now(now, r.timezone).date(),
            )
            for r in rows
        ]

    async def _fill_today(self, reps: list[RepToday], now: datetime) -> None:
        """Tasks of each rep's local today by state (one grouped query)."""
        if not reps:
            return
        by_id = {r.id: r for r in reps}
        open_checkin = (
            select(Checkin.task_id)
            .where(Checkin.task_id.is_not(None), Checkin.checked_out_at.is_(None))
            .scalar_subquery()
        )
        in_progress = Task.id.in_(open_checkin)
        late = or_(Task.status == "skipped", and_(Task.status == "planned", Task.due_at < now))
        rows = await self.session.execute(
            select(
                Task.rep_id,
                Task.local_date,
                func.count(Task.id),
                func.sum(case((Task.status == "done", 1), else_=0)),
                func.sum(case((in_progress, 1), else_=0)),
                func.sum(case((and_(late, ~in_progress), 1), else_=0)),
            )
            .where(
                Task.rep_id.in_(list(by_id)),
                Task.local_date.in_({r.local_date for r in reps}),
                or_(Task.status_reason.is_(None), Task.status_reason != MOVED),
            )
            .group_by(Task.rep_id, Task.local_date)
        )
        for rep_id, day, count, done, progressing, missed in rows:
            rep = by_id[rep_id]
            if day == rep.local_date:
                rep.planned, rep.done = int(count), int(done or 0)
                rep.in_progress, rep.missed = int(progressing or 0), int(missed or 0)

    async def _fill_field(self, reps: list[RepToday], now: datetime) -> None:
        """Each rep's latest check-in of the last 12 hours, with where (one windowed query)."""
        if not reps:
            return
        position = (
            func.row_number()
            .over(partition_by=Checkin.rep_id, order_by=Checkin.checked_in_at.desc())
            .label("n")
        )
        latest = (
            select(
                Checkin.rep_id,
                Checkin.checked_in_at,
                Checkin.checked_out_at,
                Checkin.geo_status,
                Checkin.customer_id,
                position,
            )
            .where(Checkin.rep_id.in_([r.id for r in reps]), Checkin.checked_in_at >= now - FIELD_WINDOW)
            .subquery()
        )
        rows = await self.session.execute(
            select(latest, Customer.name.label("customer_name"), Customer.address)
            .join(Customer, Customer.id == latest.c.customer_id)
            .where(latest.c.n == 1)
        )
        by_id = {r.id: r for r in reps}
        for row in rows:
            by_id[row.rep_id].last_checkin = {
                "checked_in_at": row.checked_in_at,
                "checked_out_at": row.checked_out_at,
                "geo_status": row.geo_status,
                "customer_id": row.customer_id,
                "customer_name": row.customer_name,
                "address": row.address,
            }

    async def _escalations(self, units: list[UUID]) -> list[dict[str, Any]]:
        subject_user, subject_name = User, func.coalesce(User.name, "")
        rows = await self.session.execute(
            select(
                Escalation.id,
                Escalation.severity,
                Escalation.level,
                Escalation.state,
                Escalation.rule,
                Escalation.subject_type,
                Escalation.subject_id,
                Escalation.snapshot,
                subject_name.label("subject_name"),
            )
            .outerjoin(
                subject_user,
                and_(Escalation.subject_type == "user", subject_user.id == Escalation.subject_id),
            )
            .where(Escalation.state != "resolved", Escalation.org_unit_id.in_(units))
            .order_by(_SEVERITY.desc(), Escalation.opened_at, Escalation.id)
        )
        return [
            {
                "id": r.id,
                "severity": r.severity,
                "level": r.level,
                "state": r.state,
                "metric": r.rule.removeprefix("pace_"),
                "granularity": (r.snapshot or {}).get("granularity", "month"),
                "subject_type": r.subject_type,
                "subject_id": r.subject_id,
                "subject_name": r.subject_name,
            }
            for r in rows
        ]

    async def _overdue_promises(self, rep_ids: list[UUID], today: dict[UUID, date]) -> list[dict[str, Any]]:
        if not rep_ids:
            return []
        rows = await self.session.execute(
            select(Promise.id, Promise.rep_id, Promise.text, Promise.due_on, Customer.id.label("customer_id"))
            .add_columns(Customer.name.label("customer_name"), User.name.label("rep_name"))
            .join(Customer, Customer.id == Promise.customer_id)
            .join(User, User.id == Promise.rep_id)
            .where(
                Promise.rep_id.in_(rep_ids), Promise.status == "open", Promise.due_on < max(today.values())
            )
            .order_by(Promise.due_on, Promise.id)
        )
        return [dict(r._mapping) for r in rows if r.due_on < today[r.rep_id]][:50]

    async def _needs_you(
        self, principal: Principal, units: list[UUID], escalations: list[dict[str, Any]], rep_ids: list[UUID]
    ) -> list[dict[str, Any]]:
        """What waits on the viewer: escalations at their rung to acknowledge, plans to decide or fix."""
        rung = 3 if principal.is_executive else 2
        items: list[dict[str, Any]] = [
            {"kind": "acknowledge", "url": f"/escalations/{e['id']}", **e}
            for e in escalations
            if e["state"] == "open" and e["level"] == rung
        ]
        in_scope = or_(
            and_(Target.scope == "org_unit", Target.scope_id.in_(units)),
            and_(Target.scope == "user", Target.scope_id.in_(rep_ids or [principal.id])),
        )
        if principal.is_executive:
            plans = await self.session.execute(
                select(Target.id, Target.period_start, Target.granularity, Target.submitted_by).where(
                    Target.status == "submitted", in_scope, Target.submitted_by != principal.id
                )
            )
            items += [
                {"kind": "approve_plan", "url": f"/plans/targets/{p.id}", "period": p.period_start}
                for p in plans
            ]
            adjustments = await self.session.execute(
                select(TargetAdjustment.id, TargetAdjustment.target_id)
                .join(Target, Target.id == TargetAdjustment.target_id)
                .where(
                    TargetAdjustment.status == "pending",
                    in_scope,
                    TargetAdjustment.requested_by != principal.id,
                )
            )
            items += [
                {"kind": "decide_adjustment", "url": "/plans/approvals", "target_id": a.target_id}
                for a in adjustments
            ]
        else:
            returned = await self.session.execute(
                select(Target.id, Target.period_start, Target.review_comment).where(
                    Target.status == "returned", in_scope
                )
            )
            items += [
                {
                    "kind": "fix_plan",
                    "url": f"/plans/targets/{p.id}",
                    "period": p.period_start,
                    "comment": p.review_comment,
                }
                for p in returned
            ]
        return items
