"""The funnel of a rep, a team or a region: one query for the deals, one for their stage changes,
one progress load for the revenue gaps; the figures themselves come from domain.funnel."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select

from server.core.access import Scope
from server.core.errors import field_error, not_found
from server.core.i18n import gettext as _
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import Opportunity, OpportunityStageChange, User
from server.domain.funnel import Change, Deal, Funnel, Stage, compute_funnel
from server.services.pipeline.stages import StagesService
from server.services.plans.progress import ProgressService

# (scope kind, name, which deals, home unit: its time zone)
Group = tuple[str, str, ColumnElement[bool], UUID | None]


@dataclass(frozen=True)
class Period:
    """What the movement covers (a week or a month) and the plan month the gap is measured in."""

    label: str
    start: date
    end: date  # inclusive
    plan_start: date
    plan_end: date  # inclusive


@dataclass(frozen=True)
class FunnelRow:
    scope: str  # user | org_unit
    scope_id: UUID
    name: str
    funnel: Funnel


@dataclass(frozen=True)
class FunnelReport:
    period: Period
    total: FunnelRow
    rows: list[FunnelRow]  # the team's reps, or the unit's child units


PERIOD_PATTERN = r"^[0-9]{4}-((0[1-9]|1[0-2])|W(0[1-9]|[1-4][0-9]|5[0-3]))$"


def parse_period(raw: str | None, today: date) -> Period:
    """ "2026-11" (a month) or "2026-W47" (an ISO week); the current month when not given. A value
    of the documented shape that names no real period (2025-W53, year 0) is a 422, not a 400."""
    raw = raw or today.strftime("%Y-%m")
    if not re.fullmatch(PERIOD_PATTERN, raw):
        raise field_error("period", _("must be a month like 2026-11 or a week like 2026-W47"), 400)
    try:
        if "-W" in raw:
            year, week = raw.split("-W")
            start = date.fromisocalendar(int(year), int(week), 1)
            end = start + timedelta(days=6)
        else:
            year, month = raw.split("-")
            start = date(int(year), int(month), 1)
            end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    except ValueError:
        raise field_error("period", _("must be a month like 2026-11 or a week like 2026-W47"), 422) from None
    plan_start = end.replace(day=1)  # a week spanning two months is judged against the later one
    plan_end = plan_start.replace(day=calendar.monthrange(plan_start.year, plan_start.month)[1])
    return Period(raw, start, end, plan_start, plan_end)


def _utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


class FunnelService(Service):
    async def report(
        self, access: Scope, scope: str, scope_id: UUID | None, period_raw: str | None
    ) -> FunnelReport:
        """The scope's funnel and one row per rep (a team) or child unit (above a team)."""
        principal = access.principal
        tree = await OrgTree.load(self.session)
        if scope == "user":
            user_id = scope_id or principal.id
            user = (
                await self.session.execute(
                    select(User.id, User.name, User.org_unit_id).where(User.id == user_id)
                )
            ).first()
            if user is None or not access.sees_user(user.id, user.org_unit_id):
                raise not_found("User", user_id, "scope_id")
            groups: dict[UUID, Group] = {
                user.id: ("user", user.name, Opportunity.owner_rep_id == user.id, user.org_unit_id)
            }
            total_key, company, home = user.id, tree.company_of(user.org_unit_id), user.org_unit_id
        elif scope == "org_unit":
            unit_id = scope_id or principal.org_unit_id
            if unit_id is None or principal.is_rep or unit_id not in access.unit_ids:
                raise not_found("Org unit", unit_id, "scope_id")
            groups = await self._unit_groups(tree, unit_id)
            total_key, company, home = unit_id, tree.company_of(unit_id), unit_id
        else:
            raise field_error("scope", _("must be user or org_unit"), 400)
        if company is None:
            raise not_found("Org unit", scope_id, "scope_id")
        # Days are each scope's own local days (its home unit's time zone), whoever asks: a region
        # has the same figures alone as it has as a row of the company.
        period = parse_period(period_raw, self.clock.local_date(tree.timezone(home)))
        stages = [
            Stage(s.id, s.name, s.position, s.kind) for s in await self.ctx.get(StagesService).stages(company)
        ]
        _kind, total_name, total_clause, _home = groups.pop(total_key)
        deals, owners, units = await self._deals(total_clause)
        # A day of slack either side of UTC covers every zone; compute_funnel cuts at each end.
        changes = await self._changes(total_clause, _utc(period.end + timedelta(days=2), "UTC"))
        gaps = await self._gaps(
            [(scope, total_key, self.clock.local_date(tree.timezone(home)))]
            + [(g[0], key, self.clock.local_date(tree.timezone(g[3]))) for key, g in groups.items()],
            period,
        )

        def figures(members: list[Deal], key: UUID, unit: UUID | None) -> Funnel:
            tz = tree.timezone(unit)
            today = self.clock.local_date(tz)
            start, end = _utc(period.start, tz), _utc(period.end + timedelta(days=1), tz)
            close_from = max(period.plan_start, today) if today <= period.plan_end else period.plan_start
            return compute_funnel(
                stages, members, changes, start, end, close_from, period.plan_end, gaps.get(key)
            )

        rows = []
        for key, (kind, name, _clause, unit) in groups.items():
            if kind == "user":
                members = [d for d in deals if owners[d.id] == key]
            else:
                subtree = set(tree.subtree(key))
                members = [d for d in deals if units[d.id] in subtree]
            rows.append(FunnelRow(kind, key, name, figures(members, key, unit)))
        total = FunnelRow(scope, total_key, total_name, figures(deals, total_key, home))
        return FunnelReport(period, total, rows)

    async def _unit_groups(self, tree: OrgTree, unit_id: UUID) -> dict[UUID, Group]:
        """The unit itself, then its child units, or (a team without children) its reps."""
        subtree = tree.subtree(unit_id)
        groups: dict[UUID, Group] = {
            unit_id: ("org_unit", tree.units[unit_id].name, Opportunity.org_unit_id.in_(subtree), unit_id)
        }
        children = tree.children.get(unit_id, [])
        for child in children:
            groups[child] = (
                "org_unit",
                tree.units[child].name,
                Opportunity.org_unit_id.in_(tree.subtree(child)),
                child,
            )
        if not children:
            reps = await self.session.execute(
                select(User.id, User.name)
                .where(User.org_unit_id == unit_id, User.role == "rep")
                .order_by(User.name)
            )
            for rep_id, name in reps:
                groups[rep_id] = ("user", name, Opportunity.owner_rep_id == rep_id, unit_id)
        return groups

    async def _deals(
        self, clause: ColumnElement[bool]
    ) -> tuple[list[Deal], dict[UUID, Any], dict[UUID, Any]]:
        rows = await self.session.execute(
            select(
                Opportunity.id, Opportunity.stage_id, Opportunity.amount, Opportunity.probability,
                Opportunity.expected_close, Opportunity.owner_rep_id, Opportunity.org_unit_id,
            ).where(clause)
        )  # fmt: skip
        deals, owners, units = [], {}, {}
        for r in rows:
            deals.append(Deal(r.id, r.stage_id, r.amount, r.probability, r.expected_close))
            owners[r.id], units[r.id] = r.owner_rep_id, r.org_unit_id
        return deals, owners, units

    async def _changes(self, clause: ColumnElement[bool], before: datetime) -> list[Change]:
        in_scope = select(Opportunity.id).where(clause)
        rows = await self.session.execute(
            select(
                OpportunityStageChange.opportunity_id, OpportunityStageChange.from_stage_id,
                OpportunityStageChange.to_stage_id, OpportunityStageChange.at,
            ).where(OpportunityStageChange.opportunity_id.in_(in_scope), OpportunityStageChange.at < before)
        )  # fmt: skip
        return [Change(*r) for r in rows]

    async def _gaps(self, scopes: list[tuple[str, UUID, date]], period: Period) -> dict[UUID, Decimal]:
        """Remaining revenue to each scope's approved monthly target as of its own local today
        (target - actual, at least 0); scopes without a target are absent."""
        asked: dict[tuple[str, date], list[UUID]] = {}
        for kind, key, today in scopes:
            as_of = min(max(today, period.plan_start), period.plan_end)
            asked.setdefault((kind, as_of), []).append(key)
        progress = self.ctx.get(ProgressService)
        gaps: dict[UUID, Decimal] = {}
        for (kind, as_of), ids in asked.items():
            for key, p in (await progress.for_scopes(kind, ids, as_of)).items():
                gaps[key] = max(p.target - p.actual, Decimal(0))
        return gaps
