"""Pace findings for the escalate sweep: which reps and units are behind, and how badly.

Pace comes from one ProgressService.for_queries call per sweep: scopes are grouped by the last
completed working day of their unit (in their time zone), for the revenue and visits metrics and
for month and quarter targets; reps, teams, regions and the company each escalate to their owner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select

from server.core.org import OrgTree
from server.core.services import Services
from server.core.upsert import dialect_of
from server.db.id_lists import fetched_uuid
from server.db.models import User
from server.domain.calendar import local_date
from server.domain.escalation import (
    Level,
    Severity,
    dedup_key,
    level_for_severity,
    severity_for_status,
    team_level_for_severity,
)
from server.services.org.worktime import WorkCalendar
from server.services.plans.progress import ProgressService, ScopeProgress
from server.services.plans.progress_targets import ProgressQuery

METRICS = ("revenue", "visits")
SEVERITY_RANK: dict[str, int] = {Severity.YELLOW: 1, Severity.ORANGE: 2, Severity.RED: 3}


@dataclass(frozen=True)
class Finding:
    """One subject failing one pace rule now, with the level its severity calls for."""

    key: str
    rule: str
    subject_type: str  # user | org_unit
    subject_id: UUID
    org_unit_id: UUID | None
    severity: str  # a Severity value
    level: Level
    snapshot: dict[str, Any]


def group_by_local_date(scopes: Iterable[tuple[UUID, str | None]], now: datetime) -> dict[date, list[UUID]]:
    """Scope ids by their local date at `now`: one progress call per distinct date."""
    groups: dict[date, list[UUID]] = defaultdict(list)
    for scope_id, timezone in scopes:
        groups[local_date(now, timezone)].append(scope_id)
    return dict(groups)


def group_by_pace_date(
    scopes: Iterable[tuple[UUID, UUID | None, str | None]], now: datetime, calendar: WorkCalendar
) -> dict[tuple[date, date], list[UUID]]:
    """Scope ids by the last completed working day of their unit: one progress call per date.

    During a working day, today is not yet over: judging it as elapsed would flag a rep exactly
    on pace at Friday's close as behind at 00:30 on Monday (DESIGN §5, time that respects people).
    """
    groups: dict[tuple[date, date], list[UUID]] = defaultdict(list)
    keys: dict[tuple[UUID | None, str | None], tuple[date, date]] = {}  # reps share units and zones
    for scope_id, unit_id, timezone in scopes:
        key = keys.get((unit_id, timezone))
        if key is None:
            key = keys[unit_id, timezone] = (
                calendar.pace_as_of(now, unit_id, timezone),
                local_date(now, timezone),
            )
        groups[key].append(scope_id)
    return dict(groups)


# Which unit kinds escalate on which periods: reps and teams month and quarter, regions and the
# company month and quarter too, each to its own owner on the ladder.
GRANULARITIES = ("month", "quarter")
UNIT_KINDS = ("team", "region", "company")


async def find_pace_problems(services: Services, tree: OrgTree, now: datetime) -> list[Finding]:
    """Every rep and unit whose month or quarter pace (revenue, visits) warrants an escalation."""
    postgresql = dialect_of(services.session) == "postgresql"
    # On the session's connection: plain rows (10,000 reps), UUIDs as the driver returns them.
    connection = await services.session.connection()
    reps = (
        await connection.execute(
            select(
                fetched_uuid(User.id, postgresql), User.timezone, fetched_uuid(User.org_unit_id, postgresql)
            ).where(User.role == "rep", User.active.is_(True))
        )
    ).all()
    rep_units = {rep.id: rep.org_unit_id for rep in reps}
    units = [unit for unit in tree.units.values() if unit.kind in UNIT_KINDS]
    calendar = await WorkCalendar.load(
        services.session, tree, [*rep_units.values(), *(u.id for u in units)], now
    )
    rep_dates = group_by_pace_date(((rep.id, rep.org_unit_id, rep.timezone) for rep in reps), now, calendar)
    unit_dates = group_by_pace_date(((u.id, u.id, u.timezone) for u in units), now, calendar)
    # Every question of the sweep in one call: the tree, holidays and thresholds load once.
    queries: list[tuple[str, date, ProgressQuery]] = []
    for metric in METRICS:
        for granularity in GRANULARITIES:
            queries += [
                (metric, today, ProgressQuery("user", ids, as_of, metric, granularity))
                for (as_of, today), ids in rep_dates.items()
            ]
            queries += [
                (metric, today, ProgressQuery("org_unit", ids, as_of, metric, granularity))
                for (as_of, today), ids in unit_dates.items()
            ]
    answers = await services.get(ProgressService).for_queries([q for _m, _t, q in queries], tree=tree)
    findings: list[Finding] = []
    for (metric, today, query), answer in zip(queries, answers, strict=True):
        for item in answer.values():
            if item.period_end < today:
                continue  # judged as of a day of a period that is over: nothing left to act on
            severity = _severity(item)
            if severity is None:
                continue
            if query.scope == "user":
                level = level_for_severity(severity)
                findings.append(_finding(metric, item, rep_units.get(item.scope_id), severity, level, query))
                continue
            unit_level = team_level_for_severity(severity)
            if unit_level is not None:
                findings.append(_finding(metric, item, item.scope_id, severity, unit_level, query))
    return findings


def period_key(granularity: str, period_start: date) -> str:
    """The period part of a dedup key: 2026-12 for a month, 2026-Q4 for a quarter."""
    if granularity == "quarter":
        return f"{period_start.year}-Q{(period_start.month - 1) // 3 + 1}"
    return f"{period_start.year}-{period_start.month:02d}"  # strftime("%Y-%m") on Linux, cheaper


def _severity(item: ScopeProgress) -> Severity | None:
    # Not warnable (the first working days of the period) raises nothing, whatever the figures.
    return severity_for_status(item.progress.status) if item.progress.warnable else None


def _finding(
    metric: str,
    item: ScopeProgress,
    unit_id: UUID | None,
    severity: Severity,
    level: Level,
    query: ProgressQuery,
) -> Finding:
    rule = f"pace_{metric}"
    period = period_key(query.granularity, item.period_start)
    return Finding(
        key=dedup_key(rule, item.scope, item.scope_id, period),
        rule=rule,
        subject_type=item.scope,
        subject_id=item.scope_id,
        org_unit_id=unit_id,
        severity=severity.value,
        level=level,
        snapshot=pace_snapshot(item, metric, query.as_of, query.granularity),
    )


def pace_snapshot(
    item: ScopeProgress, metric: str, as_of: date, granularity: str = "month"
) -> dict[str, Any]:
    """The figures behind an escalation, JSON-safe (decimals as strings, never floats)."""
    progress = item.progress

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "metric": metric,
        "granularity": granularity,
        "as_of": as_of.isoformat(),
        "period_start": item.period_start.isoformat(),
        "period_end": item.period_end.isoformat(),
        "target_id": str(item.target_id),
        "status": progress.status.value,
        "target": text(progress.target),
        "actual": text(progress.actual),
        "expected": text(progress.expected_to_date),
        "pace": text(progress.pace),
        "lag": text(progress.lag),
        "projection": text(progress.projection),
        "gap": text(progress.remaining_gap),
        "run_rate": text(progress.required_daily_run_rate),
        "attainment": text(progress.attainment),
    }
