"""Pace findings for the escalate sweep: which reps and teams are behind, and how badly.

Pace comes from one ProgressService.for_queries call per sweep: scopes are grouped by their
local date (a rep's "today" follows their time zone), for the revenue and visits metrics.
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
from server.services.plans.progress import ProgressQuery, ProgressService, ScopeProgress

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


async def find_pace_problems(services: Services, tree: OrgTree, now: datetime) -> list[Finding]:
    """Every rep (revenue, visits) and team whose current month pace warrants an escalation."""
    reps = (
        await services.session.execute(
            select(User.id, User.timezone, User.org_unit_id).where(User.role == "rep", User.active.is_(True))
        )
    ).all()
    rep_units = {rep.id: rep.org_unit_id for rep in reps}
    rep_dates = group_by_local_date(((rep.id, rep.timezone) for rep in reps), now)
    teams = [(unit.id, unit.timezone) for unit in tree.units.values() if unit.kind == "team"]
    team_dates = group_by_local_date(teams, now)
    # Every question of the sweep in one call: the tree, holidays and thresholds load once.
    queries: list[tuple[str, ProgressQuery]] = []
    for metric in METRICS:
        queries += [(metric, ProgressQuery("user", ids, as_of, metric)) for as_of, ids in rep_dates.items()]
        queries += [
            (metric, ProgressQuery("org_unit", ids, as_of, metric)) for as_of, ids in team_dates.items()
        ]
    answers = await services.get(ProgressService).for_queries([q for _m, q in queries], tree=tree)
    findings: list[Finding] = []
    for (metric, query), answer in zip(queries, answers, strict=True):
        for item in answer.values():
            severity = _severity(item)
            if severity is None:
                continue
            if query.scope == "user":
                level = level_for_severity(severity)
                findings.append(
                    _finding(metric, item, rep_units.get(item.scope_id), severity, level, query.as_of)
                )
                continue
            team_level = team_level_for_severity(severity)
            if team_level is not None:
                findings.append(_finding(metric, item, item.scope_id, severity, team_level, query.as_of))
    return findings


def _severity(item: ScopeProgress) -> Severity | None:
    # Not warnable (the first working days of the period) raises nothing, whatever the figures.
    return severity_for_status(item.progress.status) if item.progress.warnable else None


def _finding(
    metric: str, item: ScopeProgress, unit_id: UUID | None, severity: Severity, level: Level, as_of: date
) -> Finding:
    rule = f"pace_{metric}"
    period = item.period_start.strftime("%Y-%m")
    return Finding(
        key=dedup_key(rule, item.scope, item.scope_id, period),
        rule=rule,
        subject_type=item.scope,
        subject_id=item.scope_id,
        org_unit_id=unit_id,
        severity=severity.value,
        level=level,
        snapshot=pace_snapshot(item, metric, as_of),
    )


def pace_snapshot(item: ScopeProgress, metric: str, as_of: date) -> dict[str, Any]:
    """The figures behind an escalation, JSON-safe (decimals as strings, never floats)."""
    progress = item.progress

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "metric": metric,
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
