"""What goes into managers' morning digests, assembled for many managers at once.

Each part is one set-based query (or one progress call per distinct date) over every manager
due in this sweep; the rows are then split per manager in Python by org subtree. The reps' days
(overdue, missed, visits) are digest_days.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, or_, select

from server.core.org import OrgTree
from server.core.services import Services
from server.db.models import (
    Escalation,
    EscalationEvent,
    Target,
    TargetAdjustment,
    User,
)
from server.services.escalations.digest_days import (
    NO_VISITS,
    RepInfo,
    missed_tasks,
    overdue_tasks,
    visits_by_day,
)
from server.services.forecasts.summaries import ForecastSummaries
from server.services.plans.progress import ProgressService, ScopeProgress

ESCALATION_CHANGES = ("opened", "climbed", "severity_changed", "reopened")
PACE_METRICS = ("revenue", "visits")


@dataclass(frozen=True)
class DueManager:
    id: UUID
    name: str
    unit_id: UUID
    timezone: str
    local_date: date
    since: datetime  # the previous digest's time, or a day ago for the first one
    yesterday: date  # the previous working day of the manager's unit (Monday -> Friday)


async def build_contents(
    services: Services, tree: OrgTree, managers: list[DueManager], now: datetime
) -> dict[UUID, dict[str, Any]]:
    """Digest content per manager: pace table, escalation changes, overdue tasks, yesterday's visits."""
    subtrees = {m.id: set(tree.subtree(m.unit_id)) for m in managers}
    all_units = set().union(*subtrees.values())
    reps = await _reps(services, all_units)
    reps_by_unit: dict[UUID, list[RepInfo]] = defaultdict(list)
    for rep in reps.values():
        reps_by_unit[rep.unit_id].append(rep)
    pace = await _pace_rows(services, tree, managers, reps_by_unit)
    changes = await _escalation_changes(services, all_units, min(m.since for m in managers), reps, tree)
    overdue = await overdue_tasks(services, list(reps), now, min(m.local_date for m in managers))
    yesterdays = {m.yesterday for m in managers}
    visits = await visits_by_day(services, reps, yesterdays)
    missed = await missed_tasks(services, list(reps), yesterdays)
    open_escalations = await _open_escalations(services, all_units, reps, tree)
    waiting = await approvals_waiting(services, all_units, reps)
    forecasts = await services.get(ForecastSummaries).for_units(
        tree, {m.id: m.unit_id for m in managers}, now
    )
    contents: dict[UUID, dict[str, Any]] = {}
    for manager in managers:
        units = subtrees[manager.id]
        team_reps = sorted((r for u in units for r in reps_by_unit.get(u, [])), key=lambda r: r.name)
        yesterday = manager.yesterday
        contents[manager.id] = {
            "local_date": manager.local_date.isoformat(),
            "as_of": yesterday.isoformat(),
            "yesterday": yesterday.isoformat(),
            "since": manager.since.isoformat(),
            "pace": pace[manager.id],
            "escalations": [item for unit, at, item in changes if unit in units and at > manager.since],
            "open_escalations": [item for unit, item in open_escalations if unit in units],
            "approvals": [item for unit, item in waiting if unit in units],
            "forecast": forecasts.get(manager.id, []),
            "missed": [
                {"rep_id": str(r.id), "name": r.name, "tasks": missed[(r.id, yesterday)]}
                for r in team_reps
                if missed.get((r.id, yesterday))
            ],
            "overdue": [
                {"rep_id": str(r.id), "name": r.name, "count": len(tasks), "tasks": tasks}
                for r in team_reps
                if (
                    tasks := [
                        t for t in overdue.get(r.id, []) if t["local_date"] >= manager.local_date.isoformat()
                    ]
                )
            ],
            "visits": [
                {"rep_id": str(r.id), "name": r.name, **visits.get((r.id, yesterday), NO_VISITS)}
                for r in team_reps
            ],
        }
    return contents


async def _reps(services: Services, units: set[UUID]) -> dict[UUID, RepInfo]:
    rows = await services.session.execute(
        select(User.id, User.name, User.org_unit_id, User.timezone).where(
            User.role == "rep", User.active.is_(True), User.org_unit_id.in_(units)
        )
    )
    return {row.id: RepInfo(row.id, row.name, row.org_unit_id, row.timezone) for row in rows}


async def _pace_rows(
    services: Services, tree: OrgTree, managers: list[DueManager], reps_by_unit: dict[UUID, list[RepInfo]]
) -> dict[UUID, list[dict[str, Any]]]:
    """Per manager: a row per child unit and per rep directly in the manager's unit."""
    wanted: dict[date, tuple[set[UUID], set[UUID]]] = defaultdict(lambda: (set(), set()))
    for m in managers:
        units, users = wanted[m.yesterday]
        units.update(tree.children.get(m.unit_id, []))
        users.update(r.id for r in reps_by_unit.get(m.unit_id, []))
    progress = services.get(ProgressService)
    found: dict[tuple[date, str, UUID], ScopeProgress] = {}
    for as_of, (units, users) in wanted.items():
        for metric in PACE_METRICS:
            for scope, ids in (("org_unit", units), ("user", users)):
                result = await progress.for_scopes(scope, sorted(ids), as_of, metric) if ids else {}
                found.update({(as_of, metric, i): item for i, item in result.items()})
    rows: dict[UUID, list[dict[str, Any]]] = {}
    for m in managers:
        as_of = m.yesterday
        subjects = [("team", u, tree.units[u].name) for u in tree.children.get(m.unit_id, [])]
        subjects += [
            ("rep", r.id, r.name) for r in sorted(reps_by_unit.get(m.unit_id, []), key=lambda r: r.name)
        ]
        rows[m.id] = [
            {
                "kind": kind,
                "id": str(subject_id),
                "name": name,
                **{metric: _pace_cell(found.get((as_of, metric, subject_id))) for metric in PACE_METRICS},
            }
            for kind, subject_id, name in subjects
        ]
    return rows


def _pace_cell(item: ScopeProgress | None) -> dict[str, Any] | None:
    if item is None:
        return None
    p = item.progress
    return {
        "status": p.status.value,
        "pace": None if p.pace is None else str(p.pace),
        "actual": str(p.actual),
        "expected": str(p.expected_to_date),
        "target": str(p.target),
        "projection": None if p.projection is None else str(p.projection),
    }


async def _escalation_changes(
    services: Services, units: set[UUID], since: datetime, reps: dict[UUID, RepInfo], tree: OrgTree
) -> list[tuple[UUID, datetime, dict[str, Any]]]:
    """Escalation events worth a manager's attention since `since`, newest first, with their unit."""
    rows = await services.session.execute(
        select(
            EscalationEvent.at,
            EscalationEvent.event,
            EscalationEvent.to_level,
            EscalationEvent.severity,
            Escalation.id,
            Escalation.rule,
            Escalation.subject_type,
            Escalation.subject_id,
            Escalation.org_unit_id,
            Escalation.state,
        )
        .join(Escalation, Escalation.id == EscalationEvent.escalation_id)
        .where(
            EscalationEvent.at > since,
            EscalationEvent.event.in_(ESCALATION_CHANGES),
            Escalation.org_unit_id.in_(units),
        )
        .order_by(EscalationEvent.at.desc())
    )
    changes = []
    for row in rows:
        if row.subject_type == "user":
            name = reps[row.subject_id].name if row.subject_id in reps else "?"
        else:
            name = tree.units[row.subject_id].name if row.subject_id in tree.units else "?"
        item = {
            "escalation_id": str(row.id),
            "at": row.at.astimezone(UTC).isoformat(),
            "event": row.event,
            "level": row.to_level,
            "severity": row.severity,
            "metric": row.rule.removeprefix("pace_"),
            "subject_name": name,
            "state": row.state,
        }
        changes.append((row.org_unit_id, row.at, item))
    return changes


async def _open_escalations(
    services: Services, units: set[UUID], reps: dict[UUID, RepInfo], tree: OrgTree
) -> list[tuple[UUID, dict[str, Any]]]:
    """Every escalation still open or acknowledged in the units, most severe first."""
    severity = case({"red": 3, "orange": 2, "yellow": 1}, value=Escalation.severity, else_=0)
    rows = await services.session.execute(
        select(
            Escalation.id,
            Escalation.org_unit_id,
            Escalation.subject_type,
            Escalation.subject_id,
            Escalation.severity,
            Escalation.level,
            Escalation.state,
            Escalation.rule,
        )
        .where(Escalation.state != "resolved", Escalation.org_unit_id.in_(units))
        .order_by(severity.desc(), Escalation.opened_at)
    )
    found = []
    for row in rows:
        found.append(
            (
                row.org_unit_id,
                {
                    "escalation_id": str(row.id),
                    "subject_name": _subject_name(row.subject_type, row.subject_id, reps, tree),
                    "severity": row.severity,
                    "level": row.level,
                    "state": row.state,
                    "metric": row.rule.removeprefix("pace_"),
                },
            )
        )
    return found


async def approvals_waiting(
    services: Services, units: set[UUID], reps: dict[UUID, RepInfo]
) -> list[tuple[UUID, dict[str, Any]]]:
    """Plans submitted and adjustments pending for targets of the units and their reps."""
    in_scope = or_(
        and_(Target.scope == "org_unit", Target.scope_id.in_(units)),
        and_(Target.scope == "user", Target.scope_id.in_(list(reps) or [None])),
    )
    plans = await services.session.execute(
        select(Target.id, Target.scope, Target.scope_id, Target.period_start, Target.granularity).where(
            Target.status == "submitted", in_scope
        )
    )
    adjustments = await services.session.execute(
        select(TargetAdjustment.id, Target.id.label("target_id"), Target.scope, Target.scope_id)
        .join(Target, Target.id == TargetAdjustment.target_id)
        .where(TargetAdjustment.status == "pending", in_scope)
    )
    found: list[tuple[UUID, dict[str, Any]]] = []

    def unit_of(scope: str, scope_id: UUID) -> UUID:
        return reps[scope_id].unit_id if scope == "user" and scope_id in reps else scope_id

    for row in plans:
        found.append(
            (
                unit_of(row.scope, row.scope_id),
                {"kind": "plan", "target_id": str(row.id), "period": row.period_start.isoformat()},
            )
        )
    for adjustment in adjustments:
        found.append(
            (
                unit_of(adjustment.scope, adjustment.scope_id),
                {
                    "kind": "adjustment",
                    "target_id": str(adjustment.target_id),
                    "adjustment_id": str(adjustment.id),
                },
            )
        )
    return found


def _subject_name(subject_type: str, subject_id: UUID, reps: dict[UUID, RepInfo], tree: OrgTree) -> str:
    if subject_type == "user":
        return reps[subject_id].name if subject_id in reps else "?"
    return tree.units[subject_id].name if subject_id in tree.units else "?"
