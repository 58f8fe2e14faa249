"""The monthly rep scorecard: result, process and team scores blended by the company's weights,
and a leaderboard per team.

- result: the rep's month revenue attainment (ProgressService, approved month target).
- process: the mean of visit compliance (visit tasks done / planned in the month to date,
  domain rule) and reach (active customers visited within their grade's interval as of the
  month's last day or today); either alone when the other has nothing to measure.
- team: the month revenue attainment of the rep's own team (the org unit the rep belongs to).
A rep lacking any of the three is listed unscored, after the ranked reps.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import structlog

from server.core.access import Scope
from server.core.errors import field_error
from server.core.i18n import gettext as _
from server.core.org import OrgTree, UnitInfo, company_settings
from server.core.services import Service
from server.domain.calendar import month_end
from server.domain.numbers import ratio
from server.domain.scorecard import DEFAULT_SCORE_WEIGHTS, weighted_score
from server.services.customers.visit_policy import VisitPolicyService
from server.services.plans.progress import ProgressService
from server.services.reviews.metrics import (
    Rep,
    compliance,
    overall_reach,
    reach_by_grade,
    roster,
    unit_in_scope,
    visit_tallies,
)
from server.services.reviews.plan import PlanBook

log = structlog.get_logger("fieldsales.scorecard")
WEIGHT_KEYS = ("result", "process", "team")
Weights = tuple[Decimal, Decimal, Decimal]


def parse_weights(raw: Any) -> Weights | None:
    """OrgSettings.scorecard_weights as Decimals; None unless three non-negative weights sum to 1."""
    try:
        weights = tuple(Decimal(str(raw[key])) for key in WEIGHT_KEYS)
    except (KeyError, TypeError, InvalidOperation):
        return None
    if any(not w.is_finite() or w < 0 for w in weights) or sum(weights) != 1:
        return None
    return weights  # type: ignore[return-value]


@dataclass(frozen=True)
class ScoreRow:
    rep: Rep
    result: Decimal | None
    visit_compliance: Decimal | None
    reach: Decimal | None
    team: Decimal | None
    score: Decimal | None
    rank: int | None = None

    @property
    def process(self) -> Decimal | None:
        return process_score(self.visit_compliance, self.reach)


def process_score(visit_compliance: Decimal | None, reach: Decimal | None) -> Decimal | None:
    parts = [p for p in (visit_compliance, reach) if p is not None]
    return ratio(sum(parts, Decimal(0)) / len(parts)) if parts else None


@dataclass(frozen=True)
class Leaderboard:
    team_id: UUID
    team: str
    rows: list[ScoreRow]


@dataclass(frozen=True)
class Scorecard:
    unit: UnitInfo
    month: date  # the first of the month
    as_of: date
    weights: Weights
    boards: list[Leaderboard]

    @property
    def iso_month(self) -> str:
        return f"{self.month:%Y-%m}"


class ScorecardService(Service):
    async def monthly(self, access: Scope, unit_id: UUID, month: date) -> Scorecard:
        """Scorecards of the unit's reps for the month starting `month`, ranked within each team."""
        tree = await OrgTree.load(self.session)
        unit = unit_in_scope(tree, access, unit_id)
        today = self.clock.local_date(unit.timezone)
        if month > today:
            raise field_error("month", _("must not be a future month"))
        as_of = min(month_end(month), today)
        company = tree.company_of(unit_id)
        reps = await roster(self.ctx, tree, access, unit_id)
        ids = [rep.id for rep in reps]
        results = await PlanBook(self.ctx, "user", ids).at(as_of)
        teams = await self.ctx.get(ProgressService).for_scopes(
            "org_unit", sorted({rep.unit_id for rep in reps}), as_of, "revenue", "month"
        )
        (tallies,) = await visit_tallies(self.ctx, ids, [(month, as_of)], today)
        intervals = await self.ctx.get(VisitPolicyService).intervals(company)
        reach = await reach_by_grade(self.ctx, reps, as_of, dict(intervals))
        weights = await self._weights(company)
        by_team: dict[UUID, list[ScoreRow]] = defaultdict(list)
        for rep in reps:
            result = results[rep.id].progress.attainment if rep.id in results else None
            team = teams[rep.unit_id].progress.attainment if rep.unit_id in teams else None
            tally = tallies.get(rep.id)
            visits = compliance(tally) if tally else None
            reached = overall_reach(reach.get(rep.id, {})).rate
            process = process_score(visits, reached)
            score = None
            if result is not None and process is not None and team is not None:
                score = weighted_score(result, process, team, weights)
            by_team[rep.unit_id].append(ScoreRow(rep, result, visits, reached, team, score))
        boards = [
            Leaderboard(team_id, tree.units[team_id].name, ranked(rows)) for team_id, rows in by_team.items()
        ]
        boards.sort(key=lambda b: b.team)
        return Scorecard(unit, month, as_of, weights, boards)

    async def _weights(self, company: UUID | None) -> Weights:
        settings = (await company_settings(self.session, [company])).get(company) if company else None
        raw = settings.scorecard_weights if settings else None
        if raw is None:
            return DEFAULT_SCORE_WEIGHTS
        weights = parse_weights(raw)
        if weights is None:
            log.warning("scorecard_weights_invalid", company_id=str(company), weights=raw)
            return DEFAULT_SCORE_WEIGHTS
        return weights


def ranked(rows: list[ScoreRow]) -> list[ScoreRow]:
    """Best score first with competition ranks (1, 2, 2, 4); unscored reps last, unranked."""
    scored = sorted((r for r in rows if r.score is not None), key=lambda r: (-r.score, r.rep.name))  # type: ignore[operator]
    out: list[ScoreRow] = []
    for position, row in enumerate(scored, start=1):
        tied = out and out[-1].score == row.score
        rank = out[-1].rank if tied else position
        out.append(replace(row, rank=rank))
    return out + sorted((r for r in rows if r.score is None), key=lambda r: r.rep.name)
