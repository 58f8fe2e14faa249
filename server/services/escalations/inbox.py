"""Reading and acting on escalations: the scoped inbox, one escalation's history, ack, resolve.

Every query is scoped (escalation_ladder.scope_clause): a rep sees escalations about themself, a
manager those of their subtree, an executive everything. Out of scope reads as missing (404).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from server.core.access import Principal, Scope
from server.core.errors import ProblemError, field_error, not_found
from server.core.i18n import gettext as _
from server.core.services import Service
from server.db.models import Checkin, Customer, Escalation, EscalationEvent, OrgUnit, Task, User
from server.services.escalations.ladder import may_resolve, notify_resolved, rung_of, scope_clause

STATES = ("open", "acknowledged", "resolved")
STATE_FILTERS = (*STATES, "active")  # active = open or acknowledged
SEVERITIES = ("yellow", "orange", "red")
_SEVERITY_ORDER = case({"red": 3, "orange": 2, "yellow": 1}, value=Escalation.severity, else_=0)
_STATE_ORDER = case({"open": 0, "acknowledged": 1}, value=Escalation.state, else_=2)


@dataclass(frozen=True)
class EscalationFilter:
    state: str | None = None
    severity: str | None = None
    level: int | None = None
    limit: int = 50
    offset: int = 0

    def validate(self) -> None:
        """422 naming the field for a value outside its allowed set."""
        if self.state is not None and self.state not in STATE_FILTERS:
            raise field_error("state", f"must be one of {', '.join(STATE_FILTERS)}")
        if self.severity is not None and self.severity not in SEVERITIES:
            raise field_error("severity", f"must be one of {', '.join(SEVERITIES)}")
        if self.level is not None and self.level not in (1, 2, 3):
            raise field_error("level", "must be 1, 2 or 3")


@dataclass
class EscalationView:
    escalation: Escalation
    subject_name: str
    events: list[dict[str, Any]] = field(default_factory=list)


class EscalationInbox(Service):
    async def list(self, access: Scope, filters: EscalationFilter) -> tuple[list[EscalationView], int]:
        """Scoped escalations, most pressing first (active, most severe, newest), and the total."""
        filters.validate()
        conditions: list[Any] = [scope_clause(access)]
        if filters.state == "active":
            conditions.append(Escalation.state != "resolved")
        elif filters.state:
            conditions.append(Escalation.state == filters.state)
        if filters.severity:
            conditions.append(Escalation.severity == filters.severity)
        if filters.level:
            conditions.append(Escalation.level == filters.level)
        total = await self.session.scalar(select(func.count()).select_from(Escalation).where(*conditions))
        query = (
            _with_subject_name(select(Escalation))
            .where(*conditions)
            .order_by(_STATE_ORDER, _SEVERITY_ORDER.desc(), Escalation.opened_at.desc(), Escalation.id)
            .limit(filters.limit)
            .offset(filters.offset)
        )
        rows = (await self.session.execute(query)).all()
        return [EscalationView(row[0], row.subject_name or "?") for row in rows], int(total or 0)

    async def get(self, access: Scope, escalation_id: UUID, *, for_update: bool = False) -> EscalationView:
        """One escalation with its history, or 404 when missing or out of scope."""
        query = _with_subject_name(select(Escalation)).where(
            Escalation.id == escalation_id, scope_clause(access)
        )
        if for_update:
            query = query.with_for_update(of=Escalation)
        row = (await self.session.execute(query)).first()
        if row is None:
            # Missing and out of scope look the same, so ids leak nothing.
            raise not_found("Escalation", escalation_id)
        view = EscalationView(row[0], row.subject_name or "?")
        view.events = await self._events(escalation_id)
        return view

    async def acknowledge(
        self, principal: Principal, access: Scope, escalation_id: UUID, note: str | None
    ) -> EscalationView:
        """Stop the time climb; the escalation stays open until its condition clears."""
        view = await self.get(access, escalation_id, for_update=True)
        escalation = view.escalation
        self._require_state(escalation, "open", _("It is not open: it is %(state)s.", state=escalation.state))
        if rung_of(principal, escalation) < escalation.level:
            raise ProblemError(403, _("Only the person at its current level or above can acknowledge it."))
        now = self.clock.now()
        escalation.state = "acknowledged"
        escalation.acknowledged_by, escalation.acknowledged_at = principal.id, now
        escalation.acknowledged_note = _clean(note)
        self._event(escalation, now, "acknowledged", principal.id, escalation.acknowledged_note)
        await self.session.flush()
        view.events = await self._events(escalation_id)
        return view

    async def resolve(
        self, principal: Principal, access: Scope, escalation_id: UUID, note: str
    ) -> EscalationView:
        """Close by hand; the sweep re-raises it in this period only if it gets worse.

        Only the owner of its current level or someone above may (a team manager cannot close an
        executive-level escalation); a note is required and the level above the resolver is told.
        """
        cleaned = _clean(note)
        if not cleaned:
            raise field_error("note", _("Say why it is resolved."))
        view = await self.get(access, escalation_id, for_update=True)
        escalation = view.escalation
        self._require_state(escalation, "open", _("It is already resolved."), also="acknowledged")
        rung = rung_of(principal, escalation)
        if not may_resolve(principal, escalation):
            raise ProblemError(
                403,
                _("Only the person at its current level or above can resolve it."),
                [{"field": "level", "message": f"escalation level {escalation.level}, yours {rung}"}],
            )
        now = self.clock.now()
        escalation.state, escalation.resolved_at = "resolved", now
        escalation.resolved_by, escalation.resolved_note = principal.id, cleaned
        self._event(escalation, now, "resolved", principal.id, cleaned)
        await self.session.flush()
        await notify_resolved(self.ctx, escalation, view.subject_name, principal, rung)
        view.events = await self._events(escalation_id)
        return view

    async def recent_activity(self, rep_id: UUID, days: int = 7) -> dict[str, builtins.list[Any]]:
        """The rep's latest check-ins and tasks, to judge an escalation in context."""
        since = self.clock.now() - timedelta(days=days)
        checkins = await self.session.execute(
            select(Checkin.checked_in_at, Checkin.checked_out_at, Checkin.outcome, Checkin.order_amount)
            .add_columns(Customer.name.label("customer"), Checkin.geo_status)
            .join(Customer, Customer.id == Checkin.customer_id)
            .where(Checkin.rep_id == rep_id, Checkin.checked_in_at >= since)
            .order_by(Checkin.checked_in_at.desc())
            .limit(15)
        )
        tasks = await self.session.execute(
            select(Task.local_date, Task.kind, Task.status, Task.title, Task.due_at)
            .add_columns(Customer.name.label("customer"))
            .outerjoin(Customer, Customer.id == Task.customer_id)
            .where(Task.rep_id == rep_id, Task.local_date >= since.date())
            .order_by(Task.local_date.desc(), Task.rank)
            .limit(30)
        )
        return {"checkins": list(checkins.mappings()), "tasks": list(tasks.mappings())}

    @staticmethod
    def _require_state(escalation: Escalation, state: str, detail: str, also: str | None = None) -> None:
        if escalation.state not in (state, also):
            raise ProblemError(409, detail, [{"field": "state", "message": detail}])

    def _event(
        self, escalation: Escalation, now: datetime, event: str, actor: UUID, note: str | None
    ) -> None:
        self.session.add(
            EscalationEvent(
                escalation_id=escalation.id,
                at=now,
                event=event,
                from_level=escalation.level,
                to_level=escalation.level,
                severity=escalation.severity,
                actor_id=actor,
                note=note,
            )
        )

    async def _events(self, escalation_id: UUID) -> builtins.list[dict[str, Any]]:
        actor = aliased(User)
        rows = await self.session.execute(
            select(EscalationEvent, actor.name.label("actor_name"))
            .outerjoin(actor, actor.id == EscalationEvent.actor_id)
            .where(EscalationEvent.escalation_id == escalation_id)
            .order_by(EscalationEvent.at, EscalationEvent.id)
        )
        return [
            {
                "at": event.at,
                "event": event.event,
                "from_level": event.from_level,
                "to_level": event.to_level,
                "severity": event.severity,
                "actor_id": event.actor_id,
                "actor_name": actor_name,
                "note": event.note,
            }
            for event, actor_name in rows
        ]


def _with_subject_name(query: Any) -> Any:
    """Add the subject's display name: a rep's name or a unit's name."""
    subject_user, subject_unit = aliased(User), aliased(OrgUnit)
    name = func.coalesce(subject_user.name, subject_unit.name).label("subject_name")
    return (
        query.add_columns(name)
        .outerjoin(
            subject_user,
            and_(Escalation.subject_type == "user", subject_user.id == Escalation.subject_id),
        )
        .outerjoin(
            subject_unit,
            and_(Escalation.subject_type == "org_unit", subject_unit.id == Escalation.subject_id),
        )
    )


def _clean(note: str | None) -> str | None:
    stripped = (note or "").strip()
    return stripped or None


_DECIMAL_FIGURES = (
    "target",
    "actual",
    "expected",
    "pace",
    "lag",
    "projection",
    "gap",
    "run_rate",
    "attainment",
    "forecast",  # "projected to miss": the forecast, its 80% range and the plan
    "low",
    "high",
    "plan",
)


def snapshot_figures(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with numbers as Decimal and dates as date, ready for the formatting filters."""
    figures: dict[str, Any] = dict(snapshot)
    for name in _DECIMAL_FIGURES:
        value = snapshot.get(name)
        figures[name] = None if value is None else Decimal(str(value))
    for name in ("as_of", "period_start", "period_end"):
        value = snapshot.get(name)
        figures[name] = date.fromisoformat(value) if value else None
    figures.setdefault("metric", "revenue")
    return figures
