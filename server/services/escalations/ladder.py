"""Who stands on each rung of the escalation ladder, who may act on it, and telling them.

Levels are relative to the subject (domain/escalation.py): for a rep 1 = the rep, 2 = the
manager above them, 3 = the executive; for a team 2 = the manager above the team's own manager
and 3 = the executive. The org tree is small, so it is loaded once and walked in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import i18n
from server.core.access import Principal, Scope
from server.core.i18n import gettext as _
from server.core.org import OrgTree
from server.core.services import Services
from server.db.models import Escalation, User
from server.domain.escalation import FORECAST_MISS, Level
from server.services.notifications.outbox import Draft, NotificationsService


@dataclass
class Ladder:
    tree: OrgTree
    executives: list[UUID]  # active executives, the fallback when a company has no manager

    @classmethod
    async def load(cls, session: AsyncSession) -> Ladder:
        tree = await OrgTree.load(session)
        executives = list(
            await session.scalars(
                select(User.id).where(User.role == "executive", User.active.is_(True)).order_by(User.email)
            )
        )
        return cls(tree, executives)

    def executive_for(self, unit_id: UUID | None) -> UUID | None:
        company = self.tree.company_of(unit_id)
        manager = self.tree.manager_of(company)
        return manager or (self.executives[0] if self.executives else None)

    def manager_above(self, unit_id: UUID | None, skip: set[UUID | None]) -> UUID | None:
        """The nearest manager from unit_id upwards who is not in `skip`."""
        return self.tree.manager_above(unit_id, skip)

    def recipient(self, subject_type: str, subject_id: UUID, unit_id: UUID | None, level: int) -> UUID | None:
        """The person to tell at `level` about this subject (None when nobody holds that rung)."""
        if level >= Level.EXECUTIVE:
            return self.executive_for(unit_id)
        if subject_type == "user":
            if level == Level.REP:
                return subject_id
            return self.manager_above(unit_id, {subject_id}) or self.executive_for(unit_id)
        # A team: level 2 is the manager above the team's own manager.
        own_manager = self.tree.manager_of(subject_id)
        parent = self.tree.units[subject_id].parent_id if subject_id in self.tree.units else None
        return self.manager_above(parent, {own_manager}) or self.executive_for(unit_id)


def rung_of(principal: Principal, escalation: Escalation) -> int:
    """How high the caller stands relative to the subject: 1 the subject, 2 a manager above, 3 exec.

    The caller is already known to have the escalation in scope; a team's own manager stands on
    the team's rung, since a team escalation is about their own results.
    """
    if principal.is_executive:
        return Level.EXECUTIVE
    if principal.is_manager:
        if escalation.subject_type == "org_unit" and principal.org_unit_id == escalation.subject_id:
            return Level.REP
        return Level.MANAGER
    return Level.REP


def may_resolve(principal: Principal, escalation: Escalation) -> bool:
    """A manual resolve: a manager or executive standing at the current level or above it."""
    if principal.is_rep:
        return False
    rung = rung_of(principal, escalation)
    return rung >= Level.MANAGER and rung >= escalation.level


async def notify_resolved(
    services: Services, escalation: Escalation, subject_name: str, resolver: Principal, rung: int
) -> bool:
    """Tell the person on the rung above the resolver that it was closed by hand, and why."""
    if rung >= Level.EXECUTIVE:
        return False  # nobody stands above the executive
    ladder = await Ladder.load(services.session)
    recipient = ladder.recipient(
        escalation.subject_type, escalation.subject_id, escalation.org_unit_id, rung + 1
    )
    if recipient is None or recipient == resolver.id:
        return False
    people = {
        row.id: row
        for row in await services.session.execute(
            select(User.id, User.name, User.locale).where(User.id.in_([recipient, resolver.id]))
        )
    }
    locale = people[recipient].locale if recipient in people else None
    resolver_name = people[resolver.id].name if resolver.id in people else "?"
    token = i18n.current_locale.set(i18n.normalize(locale or "") or "en")
    try:
        title = _(
            "%(who)s resolved: %(name)s behind on %(metric)s",
            who=resolver_name,
            name=subject_name,
            metric=metric_label(str((escalation.snapshot or {}).get("metric", "revenue"))),
        )
        body = _(
            "Closed by hand at level %(level)d. Note: %(note)s",
            level=escalation.level,
            note=escalation.resolved_note or "",
        )
    finally:
        i18n.current_locale.reset(token)
    queued = await services.get(NotificationsService).notify_many(
        [
            Draft(
                recipient,
                "escalation",
                title,
                body,
                f"escalation:{escalation.id}:resolved:{recipient}",
                url=f"/escalations/{escalation.id}",
                tag=f"escalation-{escalation.id}",
                data={"escalation_id": str(escalation.id), "resolved_by": str(resolver.id)},
            )
        ]
    )
    return any(q.created for q in queued)


def scope_clause(access: Scope) -> ColumnElement[bool]:
    """Escalations the caller may see: a rep those about themself; others their subtree's."""
    if access.principal.is_rep:
        return (Escalation.subject_type == "user") & (Escalation.subject_id == access.principal.id)
    return access.unit_clause(Escalation.org_unit_id)


@dataclass(frozen=True)
class EscalationNotice:
    """A change that the person now at the escalation's level must hear about."""

    escalation_id: UUID
    subject_type: str
    subject_id: UUID
    org_unit_id: UUID | None
    severity: str
    level: int
    level_changed_at: datetime
    reason: str  # opened | climbed | worsened | reopened
    snapshot: dict[str, Any]

    @classmethod
    def of(cls, escalation: Escalation, reason: str) -> EscalationNotice:
        return cls(
            escalation.id,
            escalation.subject_type,
            escalation.subject_id,
            escalation.org_unit_id,
            escalation.severity,
            escalation.level,
            escalation.level_changed_at,
            reason,
            dict(escalation.snapshot or {}),
        )

    @property
    def dedup_key(self) -> str:
        # Per escalation and level; the level's start time tells a reopened episode apart.
        return f"escalation:{self.escalation_id}:{self.level}:{self.level_changed_at:%Y%m%dT%H%M%S}"


async def notify_escalations(services: Services, ladder: Ladder, notices: list[EscalationNotice]) -> int:
    """Queue one push per notice for the person at its level, in their own language."""
    targets = [(n, ladder.recipient(n.subject_type, n.subject_id, n.org_unit_id, n.level)) for n in notices]
    user_ids = {n.subject_id for n in notices if n.subject_type == "user"} | {
        t for _n, t in targets if t is not None
    }
    people: dict[UUID, tuple[str, str | None]] = {}
    if user_ids:
        rows = await services.session.execute(
            select(User.id, User.name, User.locale).where(User.id.in_(user_ids))
        )
        people = {row.id: (row.name, row.locale) for row in rows}
    drafts: list[Draft] = []
    for notice, recipient in targets:
        if recipient is None:
            continue
        if notice.subject_type == "user":
            name = people.get(notice.subject_id, ("?", None))[0]
        else:
            unit = ladder.tree.units.get(notice.subject_id)
            name = unit.name if unit else "?"
        token = i18n.current_locale.set(i18n.normalize(people.get(recipient, ("", None))[1] or "") or "en")
        try:
            title, body = escalation_message(notice, name)
        finally:
            i18n.current_locale.reset(token)
        drafts.append(
            Draft(
                recipient,
                "escalation",
                title,
                body,
                notice.dedup_key,
                url=f"/escalations/{notice.escalation_id}",
                tag=f"escalation-{notice.escalation_id}",
                data={
                    "escalation_id": str(notice.escalation_id),
                    "severity": notice.severity,
                    "level": notice.level,
                },
            )
        )
    # One batch for the sweep (a handful of statements), not three statements per notice.
    queued = await services.get(NotificationsService).notify_many(drafts)
    return sum(1 for q in queued if q.created)


def escalation_message(notice: EscalationNotice, subject_name: str) -> tuple[str, str]:
    """Title and body of an escalation push, in the current locale."""
    snapshot = notice.snapshot
    if snapshot.get("rule") == FORECAST_MISS:
        title, figures = forecast_miss_message(notice, subject_name)
        return title, _lead(notice.reason, figures)
    metric = snapshot.get("metric", "revenue")
    title = _(
        "%(severity)s: %(name)s is behind on %(metric)s",
        severity=severity_label(notice.severity),
        name=subject_name,
        metric=metric_label(metric),
    )
    figures = _(
        "%(pace)s of the pace the plan needs: %(actual)s done, %(expected)s expected by now.",
        pace=i18n.format_percent(_decimal(snapshot.get("pace"))),
        actual=format_amount(metric, snapshot.get("actual")),
        expected=format_amount(metric, snapshot.get("expected")),
    )
    return title, _lead(notice.reason, figures)


def _lead(reason: str, figures: str) -> str:
    lead = {
        "climbed": _("Not acknowledged in time, so it has moved up to you."),
        "worsened": _("It has got worse."),
        "reopened": _("Behind again after it had cleared."),
    }.get(reason)
    return f"{lead} {figures}" if lead else figures


def forecast_miss_message(notice: EscalationNotice, subject_name: str) -> tuple[str, str]:
    """Title and figures of a "projected to miss" push, in the current locale."""
    snapshot = notice.snapshot
    title = _(
        "%(severity)s: %(name)s is projected to miss the %(period)s plan",
        severity=severity_label(notice.severity),
        name=subject_name,
        period=str(snapshot.get("period", "")),
    )
    figures = _(
        "Forecast %(forecast)s, at most %(high)s (80%% range), against a plan of %(plan)s.",
        forecast=i18n.format_money(_decimal(snapshot.get("forecast"))),
        high=i18n.format_money(_decimal(snapshot.get("high"))),
        plan=i18n.format_money(_decimal(snapshot.get("plan"))),
    )
    return title, figures


def severity_label(severity: str) -> str:
    return {"yellow": _("Yellow"), "orange": _("Orange"), "red": _("Red")}.get(severity, severity)


def metric_label(metric: str) -> str:
    return {"revenue": _("revenue"), "visits": _("visits")}.get(metric, metric)


def format_amount(metric: str, value: object) -> str:
    """Money for revenue, a plain number for visits; '–' when unknown."""
    number = _decimal(value)
    return i18n.format_money(number) if metric == "revenue" else i18n.format_number(number, 0)


def _decimal(value: object) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except ArithmeticError:
        return None
