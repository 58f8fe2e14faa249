"""What goes into managers' morning digests, assembled for many managers at once.

Each part is one set-based query (or one progress call per distinct date) over every manager
due in this sweep; the rows are then split per manager in Python by org subtree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select

from server.core.org import OrgTree
from server.core.services import Services
from server.db.models import Checkin, Escalation, EscalationEvent, Task, User
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


@dataclass(frozen=True)
class RepInfo:
    id: UUID
    name: str
    unit_id: UUID
    timezone: str


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
    overdue = await _overdue(services, list(reps), now, min(m.local_date for m in managers))
    visits = await _yesterdays_visits(services, reps, {m.local_date - timedelta(days=1) for m in managers})
    contents: dict[UUID, dict[str, Any]] = {}
    for manager in managers:
        units = subtrees[manager.id]
        team_reps = sorted((r for u in units for r in reps_by_unit.get(u, [])), key=lambda r: r.name)
        yesterday = manager.local_date - timedelta(days=1)
        contents[manager.id] = {
            "local_date": manager.local_date.isoformat(),
            "as_of": yesterday.isoformat(),
            "since": manager.since.isoformat(),
            "pace": pace[manager.id],
            "escalations": [item for unit, at, item in changes if unit in units and at > manager.since],
            "overdue": [
                {"rep_id": str(r.id), "name": r.name, "count": overdue[r.id]}
                for r in team_reps
                if overdue.get(r.id)
            ],
            "visits": [
                {"rep_id": str(r.id), "name": r.name, **visits.get((r.id, yesterday), _NO_VISITS)}
                for r in team_reps
            ],
        }
    return contents


_NO_VISITS = {"planned": 0, "done": 0, "checkins": 0}


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
        units, users = wanted[m.local_date - timedelta(days=1)]
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
        as_of = m.local_date - timedelta(days=1)
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


async def _overdue(services: Services, rep_ids: list[UUID], now: datetime, today: date) -> dict[UUID, int]:
    if not rep_ids:
        return {}
    # Past its due time, or left planned on an earlier day (tasks without a due time).
    late = or_(Task.due_at < now, and_(Task.due_at.is_(None), Task.local_date < today))
    rows = await services.session.execute(
        select(Task.rep_id, func.count(Task.id))
        .where(Task.rep_id.in_(rep_ids), Task.status == "planned", late)
        .group_by(Task.rep_id)
    )
    return dict(rows.tuples().all())


async def _yesterdays_visits(
    services: Services, reps: dict[UUID, RepInfo], days: set[date]
) -> dict[tuple[UUID, date], dict[str, int]]:
    """Visit tasks planned vs done, and completed check-ins, per rep per local day."""
    if not reps or not days:
        return {}
    result: dict[tuple[UUID, date], dict[str, int]] = defaultdict(lambda: dict(_NO_VISITS))
    planned = await services.session.execute(
        select(
            Task.rep_id,
            Task.local_date,
            func.count(Task.id),
            func.sum(case((Task.status == "done", 1), else_=0)),
        )
        .where(Task.rep_id.in_(list(reps)), Task.kind == "visit", Task.local_date.in_(days))
        .group_by(Task.rep_id, Task.local_date)
    )
    for rep_id, day, count, done in planned:
        result[(rep_id, day)].update(planned=int(count), done=int(done or 0))
    # Check-ins count on the rep's local day: one query per distinct time zone and day.
    by_zone: dict[str, list[UUID]] = defaultdict(list)
    for rep in reps.values():
        by_zone[rep.timezone].append(rep.id)
    for zone, ids in by_zone.items():
        for day in days:
            start = datetime.combine(day, time.min, ZoneInfo(zone)).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time.min, ZoneInfo(zone)).astimezone(UTC)
            rows = await services.session.execute(
                select(Checkin.rep_id, func.count(Checkin.id))
                .where(
                    Checkin.rep_id.in_(ids),
                    Checkin.checked_out_at.is_not(None),
                    Checkin.checked_in_at >= start,
                    Checkin.checked_in_at < end,
                )
                .group_by(Checkin.rep_id)
            )
            for rep_id, count in rows:
                result[(rep_id, day)]["checkins"] = int(count)
    return dict(result)
