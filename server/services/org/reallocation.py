"""Reallocation as a flow: the suggestion (regions under 70%, teams ahead, backup customers), a
weekly push to executives while a region stays under, and acting on it: reassign a rep's
customers to another rep, or ask a unit's manager to plan backup customers. Every action is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any
from uuid import UUID

from sqlalchemy import select, update

from server.core import i18n
from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.errors import ProblemError, field_error
from server.core.i18n import gettext as _
from server.core.i18n import ngettext
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import Customer, OrgUnit, User
from server.domain.calendar import is_working_day
from server.services.notifications.outbox import Draft, NotificationsService
from server.services.org.view import OrgViewService, Reallocation
from server.services.org.worktime import WorkCalendar

WEEKLY_PUSH_FROM = time(8, 0)  # an executive's local time on their first working day of the week


@dataclass(frozen=True)
class Reassigned:
    from_rep_id: UUID
    to_rep_id: UUID
    customer_ids: list[UUID]


class ReallocationService(Service):
    async def suggestions(self, access: Scope) -> list[Reallocation]:
        """Regions in the caller's scope under the threshold, each with where help could come from."""
        tree = await OrgTree.load(self.session)
        view = self.ctx.get(OrgViewService)
        rows = await view.unit_rows(tree, access, ("region", "team"))
        return await view.reallocations(tree, rows)

    async def reps_by_unit(self, access: Scope) -> dict[UUID, list[tuple[UUID, str]]]:
        """Active reps in scope by their unit, for the reassign form."""
        rows = await self.session.execute(
            select(User.id, User.name, User.org_unit_id)
            .where(User.role == "rep", User.active.is_(True), access.user_clause(User.id))
            .order_by(User.name)
        )
        found: dict[UUID, list[tuple[UUID, str]]] = {}
        for row in rows:
            found.setdefault(row.org_unit_id, []).append((row.id, row.name))
        return found

    async def reassign(
        self,
        principal: Principal,
        access: Scope,
        from_rep_id: UUID,
        to_rep_id: UUID,
        customer_ids: list[UUID] | None,
        reason: str,
    ) -> Reassigned:
        """Move customers (all the rep's active ones when none are named) to another rep; audited."""
        if not reason.strip():
            raise field_error("reason", _("Say why the customers move."))
        if from_rep_id == to_rep_id:
            raise field_error("to_rep_id", _("Choose another rep."))
        reps = {
            row.id: row
            for row in await self.session.execute(
                select(User.id, User.name, User.org_unit_id, User.active, User.locale).where(
                    User.id.in_([from_rep_id, to_rep_id]), User.role == "rep"
                )
            )
        }
        for field, rep_id in (("from_rep_id", from_rep_id), ("to_rep_id", to_rep_id)):
            rep = reps.get(rep_id)
            if rep is None or not access.sees_user(rep_id, rep.org_unit_id):
                raise ProblemError(
                    404, f"{field}: rep {rep_id} not found", [{"field": field, "message": "not found"}]
                )
        if not reps[to_rep_id].active:
            raise field_error("to_rep_id", _("That rep is not active."))
        owned = select(Customer.id).where(Customer.owner_rep_id == from_rep_id, Customer.status != "closed")
        if customer_ids:
            found = set(await self.session.scalars(owned.where(Customer.id.in_(customer_ids))))
            missing = [str(c) for c in customer_ids if c not in found]
            if missing:
                raise field_error("customer_ids", f"not customers of the rep: {', '.join(missing[:5])}")
            moving = list(customer_ids)
        else:
            moving = list(await self.session.scalars(owned))
        if not moving:
            raise field_error("customer_ids", _("The rep has no customers to move."))
        to_unit = reps[to_rep_id].org_unit_id
        await self.session.execute(
            update(Customer)
            .where(Customer.id.in_(moving))
            .values(owner_rep_id=to_rep_id, org_unit_id=to_unit)
            .execution_options(synchronize_session=False)
        )
        await self.ctx.get(AuditService).record(
            principal.id,
            "reallocation.reassigned",
            "user",
            from_rep_id,
            before={"owner_rep_id": str(from_rep_id), "org_unit_id": str(reps[from_rep_id].org_unit_id)},
            after={
                "owner_rep_id": str(to_rep_id),
                "org_unit_id": str(to_unit),
                "customer_ids": [str(c) for c in moving],
                "reason": reason.strip(),
            },
        )
        drafts = []
        for rep_id, key in ((to_rep_id, "gained"), (from_rep_id, "lost")):
            with _language(reps[rep_id].locale):
                title = (
                    ngettext("%(num)d customer is now yours", "%(num)d customers are now yours", len(moving))
                    if key == "gained"
                    else ngettext(
                        "%(num)d customer moved to a colleague",
                        "%(num)d customers moved to a colleague",
                        len(moving),
                    )
                )
                drafts.append(
                    Draft(
                        rep_id,
                        "reallocation",
                        title,
                        reason.strip(),
                        f"reallocation:{from_rep_id}:{to_rep_id}:{self.clock.now():%Y%m%dT%H%M%S%f}:{key}",
                        "/customers",
                        "reallocation",
                    )
                )
        await self.ctx.get(NotificationsService).notify_many(drafts)
        return Reassigned(from_rep_id, to_rep_id, moving)

    async def ask_for_backup_plan(
        self, principal: Principal, access: Scope, unit_id: UUID, customer_ids: list[UUID], note: str
    ) -> UUID:
        """Ask the unit's manager to plan visits to backup customers; audited. Returns the manager."""
        unit = await self.session.get(OrgUnit, unit_id)
        if unit is None or not access.sees_unit(unit_id):
            raise ProblemError(
                404,
                f"org_unit_id: unit {unit_id} not found",
                [{"field": "org_unit_id", "message": "not found"}],
            )
        if unit.manager_user_id is None:
            raise field_error("org_unit_id", _("That unit has no manager to ask."))
        if not customer_ids:
            raise field_error("customer_ids", _("Choose at least one backup customer."))
        tree = await OrgTree.load(self.session)
        subtree = set(tree.subtree(unit_id))
        rows = (
            await self.session.execute(
                select(Customer.id, Customer.name, Customer.org_unit_id).where(Customer.id.in_(customer_ids))
            )
        ).all()
        names = {row.id: row.name for row in rows if row.org_unit_id in subtree}
        missing = [str(c) for c in customer_ids if c not in names]
        if missing:
            raise field_error("customer_ids", f"not customers of the unit: {', '.join(missing[:5])}")
        manager = await self.session.scalar(select(User).where(User.id == unit.manager_user_id))
        assert manager is not None
        with _language(manager.locale):
            title = _("Please plan backup customers: %(unit)s", unit=unit.name)
            body = ", ".join(names[c] for c in customer_ids[:10])
            if note.strip():
                body = f"{note.strip()} — {body}"
        await self.ctx.get(NotificationsService).notify_many(
            [
                Draft(
                    manager.id,
                    "reallocation",
                    title,
                    body,
                    f"backup-plan:{unit_id}:{self.clock.now():%Y%m%dT%H%M%S%f}",
                    f"/team/units/{unit_id}",
                    "reallocation",
                    data={"customer_ids": [str(c) for c in customer_ids]},
                )
            ]
        )
        await self.ctx.get(AuditService).record(
            principal.id,
            "reallocation.backup_requested",
            "org_unit",
            unit_id,
            after={
                "manager_id": str(manager.id),
                "customer_ids": [str(c) for c in customer_ids],
                "note": note.strip(),
            },
        )
        return manager.id

    async def weekly_push(self) -> dict[str, int]:
        """One push per executive per ISO week while a region of theirs is under the threshold.

        Sent from 08:00 local on the executive's first working day of the week (a missed run is
        caught up later in the week; the dedup key holds it to one).
        """
        now = self.clock.now()
        executives = (
            (
                await self.session.execute(
                    select(User).where(User.role == "executive", User.active.is_(True)).order_by(User.email)
                )
            )
            .scalars()
            .all()
        )
        if not executives:
            return {"executives": 0, "queued": 0}
        tree = await OrgTree.load(self.session)
        calendar = await WorkCalendar.load(self.session, tree, {e.org_unit_id for e in executives}, now)
        drafts = []
        for executive in executives:
            local = calendar.local_now(now, executive.timezone)
            if not is_working_day(local.date(), calendar.holidays(executive.org_unit_id)) or (
                local.time() < WEEKLY_PUSH_FROM
            ):
                continue
            principal = Principal(
                executive.id, executive.email, executive.name, executive.role, executive.org_unit_id,
                executive.timezone, executive.locale,
            )  # fmt: skip
            suggestions = await self.suggestions(await Scope.load(self.session, principal))
            if not suggestions:
                continue
            year, week, _day = local.date().isocalendar()
            with _language(executive.locale):
                title = ngettext(
                    "%(num)d region under 70%% of plan",
                    "%(num)d regions under 70%% of plan",
                    len(suggestions),
                )
                body = ", ".join(f"{s.region.name} {i18n.format_percent(s.region.pace)}" for s in suggestions)
            drafts.append(
                Draft(
                    executive.id,
                    "reallocation",
                    title,
                    body,
                    f"reallocation:{executive.id}:{year}-W{week:02d}",
                    "/org#reallocation",
                    "reallocation",
                )
            )
        queued = await self.ctx.get(NotificationsService).notify_many(drafts)
        return {"executives": len(executives), "queued": sum(1 for q in queued if q.created)}


def suggestion_json(item: Reallocation) -> dict[str, Any]:
    """A suggestion as JSON: money as strings, never floats."""

    def unit(row: Any) -> dict[str, Any]:
        revenue = row.revenue
        return {
            "id": str(row.id),
            "name": row.name,
            "kind": row.kind,
            "pace": None if row.pace is None else str(row.pace),
            "actual": None if revenue is None else str(revenue.actual),
            "expected": None if revenue is None else str(revenue.progress.expected_to_date),
            "target": None if revenue is None else str(revenue.target),
            "url": f"/team/units/{row.id}",
        }

    return {
        "region": unit(item.region),
        "teams_ahead_in_region": [unit(t) for t in item.ahead_in_region],
        "teams_ahead_elsewhere": [unit(t) for t in item.ahead_elsewhere],
        "backup_customers": [
            {
                "id": str(c["id"]),
                "name": c["name"],
                "grade": c["grade"],
                "potential": None if c["potential"] is None else str(c["potential"]),
                "revenue_365": None if c["revenue_365"] is None else str(c["revenue_365"]),
                "owner_rep_id": None if c["owner_rep_id"] is None else str(c["owner_rep_id"]),
                "owner_name": c["owner_name"],
                "org_unit_id": str(c["org_unit_id"]),
            }
            for c in item.backup_customers
        ],
    }


class _language:
    """Render messages in the recipient's language."""

    def __init__(self, locale: str | None) -> None:
        self.locale = i18n.normalize(locale or "") or "en"

    def __enter__(self) -> None:
        self.token = i18n.current_locale.set(self.locale)

    def __exit__(self, *exc: object) -> None:
        i18n.current_locale.reset(self.token)
