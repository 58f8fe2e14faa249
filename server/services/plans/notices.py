"""Approvals that move: whoever must act next on a plan or an adjustment hears about it.

- submitted plan or adjustment waiting for approval -> someone four eyes lets decide it: the
  company's executive (its manager, or the first active executive), never the submitter themself;
  an executive's own submission goes to another of `PLAN_EXEC_SUBMISSION_APPROVERS`;
- approved, returned, rejected -> the person who submitted or requested it.
Inbox and push through the outbox, in the recipient's language; the dedup key makes a retried
request notify once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from uuid import UUID

from sqlalchemy import select

from server.core import i18n
from server.core.access import Principal
from server.core.i18n import gettext as _
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import OrgUnit, Target, TargetAdjustment, User
from server.services.notifications.outbox import Draft, NotificationsService
from server.services.plans.approvals import APPROVER_ROLES, exec_submission_approvers


@contextmanager
def _language(locale: str | None) -> Iterator[None]:
    token = i18n.current_locale.set(i18n.normalize(locale or "") or "en")
    try:
        yield
    finally:
        i18n.current_locale.reset(token)


class PlanNotices(Service):
    async def plan_moved(
        self, actor: Principal, target: Target, action: str, comment: str | None = None
    ) -> UUID | None:
        """After submit / approve / return of a plan: tell the next person. Returns who was told."""
        name = await self._scope_name(target)
        stamp = f"{target.id}:{action}:{self.clock.now():%Y%m%dT%H%M%S%f}"
        if action == "submit":
            recipient = await self._approver(target, actor)
            if recipient is None:
                return None
            return await self._send(
                recipient,
                lambda: (
                    _("Plan to approve: %(name)s", name=name),
                    _(
                        "%(who)s submitted the %(period)s plan (%(amount)s).",
                        who=actor.name,
                        period=_period(target),
                        amount=_amount(target),
                    ),
                ),
                f"plan:{stamp}",
                f"/plans/targets/{target.id}",
            )
        recipient = target.submitted_by
        if recipient is None or recipient == actor.id:
            return None

        def texts() -> tuple[str, str]:
            if action == "approve":
                return (
                    _("Plan approved: %(name)s", name=name),
                    _(
                        "%(who)s approved the %(period)s plan (%(amount)s).",
                        who=actor.name,
                        period=_period(target),
                        amount=_amount(target),
                    ),
                )
            return (
                _("Plan returned: %(name)s", name=name),
                _(
                    "%(who)s returned the %(period)s plan: %(comment)s",
                    who=actor.name,
                    period=_period(target),
                    comment=comment or "",
                ),
            )

        return await self._send(recipient, texts, f"plan:{stamp}", f"/plans/targets/{target.id}")

    async def adjustment_requested(
        self, actor: Principal, adjustment: TargetAdjustment, target: Target
    ) -> UUID | None:
        """A move beyond the allowance waits for an executive: tell them."""
        if adjustment.status != "pending":
            return None
        recipient = await self._approver(target, actor)
        if recipient is None:
            return None
        name = await self._scope_name(target)
        return await self._send(
            recipient,
            lambda: (
                _("Adjustment to decide: %(name)s", name=name),
                _(
                    "%(who)s asks to move the %(period)s target from %(old)s to %(new)s: %(reason)s",
                    who=actor.name,
                    period=_period(target),
                    old=i18n.format_money(adjustment.old_amount),
                    new=i18n.format_money(adjustment.new_amount),
                    reason=adjustment.reason,
                ),
            ),
            f"adjustment:{adjustment.id}:requested",
            "/plans/approvals",
        )

    async def adjustment_decided(
        self, actor: Principal, adjustment: TargetAdjustment, target: Target
    ) -> UUID | None:
        """Approved or rejected: tell whoever asked."""
        recipient = adjustment.requested_by
        if recipient == actor.id:
            return None
        name = await self._scope_name(target)
        approved = adjustment.status == "approved"
        return await self._send(
            recipient,
            lambda: (
                (
                    _("Adjustment approved: %(name)s", name=name)
                    if approved
                    else _("Adjustment rejected: %(name)s", name=name)
                ),
                _(
                    "%(who)s decided on %(old)s → %(new)s. %(note)s",
                    who=actor.name,
                    old=i18n.format_money(adjustment.old_amount),
                    new=i18n.format_money(adjustment.new_amount),
                    note=adjustment.decision_note or "",
                ).strip(),
            ),
            f"adjustment:{adjustment.id}:{adjustment.status}",
            f"/plans/targets/{target.id}",
        )

    async def _approver(self, target: Target, submitter: Principal) -> UUID | None:
        """Who may decide it (four eyes): the company unit's manager, else the first active approver."""
        roles = exec_submission_approvers(self.settings) if submitter.role == "executive" else APPROVER_ROLES
        unit = target.scope_id
        if target.scope == "user":
            unit = await self.session.scalar(select(User.org_unit_id).where(User.id == target.scope_id))
        tree = await OrgTree.load(self.session)
        company = tree.company_of(unit)
        candidates: list[UUID] = []
        manager = tree.manager_of(company)
        if manager is not None:
            manager_role = await self.session.scalar(
                select(User.role).where(User.id == manager, User.active.is_(True))
            )
            if manager_role in roles:
                candidates.append(manager)
        # executives before admins: deciding plans is the executive's job, the admin the fallback
        candidates += list(
            await self.session.scalars(
                select(User.id)
                .where(User.role.in_(roles), User.active.is_(True))
                .order_by(User.role.desc(), User.email)
            )
        )
        return next((c for c in candidates if c != submitter.id), None)

    async def _scope_name(self, target: Target) -> str:
        model = User if target.scope == "user" else OrgUnit
        return await self.session.scalar(select(model.name).where(model.id == target.scope_id)) or ""

    async def _send(
        self, recipient: UUID, texts: Callable[[], tuple[str, str]], dedup_key: str, url: str
    ) -> UUID | None:
        locale = await self.session.scalar(select(User.locale).where(User.id == recipient))
        with _language(locale):
            title, body = texts()
        queued = await self.ctx.get(NotificationsService).notify_many(
            [Draft(recipient, "approval", title, body, dedup_key, url, "approval")]
        )
        return recipient if queued and queued[0].created else None


def _period(target: Target) -> str:
    return f"{i18n.format_date(target.period_start)} – {i18n.format_date(target.period_end)}"


def _amount(target: Target) -> str:
    return (
        i18n.format_money(target.amount)
        if target.metric == "revenue"
        else i18n.format_number(target.amount, 0)
    )
