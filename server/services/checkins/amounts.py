"""Amounts a rep can trust: a far-too-large order needs confirming (and is flagged to the
manager), and a wrong order is corrected by a new entry that references it, never deleted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from server.core import i18n
from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.errors import ProblemError, field_error, not_found
from server.core.i18n import format_money
from server.core.i18n import gettext as _
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import Customer, Order, OrgSettings, User
from server.domain.amounts import HISTORY_DAYS, correction_problem, needs_confirmation
from server.services.checkins.orders import MAX_ORDER, visible_orders
from server.services.notifications.outbox import NotificationsService

DEFAULT_CEILING = Decimal("10000")
CORRECTION = "correct"  # orders.source of a correcting entry


def _largest_recent() -> Any:
    return select(Order.customer_id, func.max(Order.amount).label("largest")).where(
        Order.corrects_order_id.is_(None), Order.amount > 0
    )


class OrderAmountsService(Service):
    async def largest_recent(self, customer_ids: Iterable[UUID], on: date) -> dict[UUID, Decimal]:
        """Each customer's largest order of the 365 days up to `on` (one grouped query)."""
        ids = list(customer_ids)
        if not ids:
            return {}
        rows = await self.session.execute(
            _largest_recent()
            .where(
                Order.customer_id.in_(ids),
                Order.ordered_on > on - timedelta(days=HISTORY_DAYS),
                Order.ordered_on <= on,
            )
            .group_by(Order.customer_id)
        )
        return {row.customer_id: row.largest for row in rows}

    async def check(
        self, customer: Customer, amount: Decimal, on: date, confirmed: bool, settings: OrgSettings | None
    ) -> bool:
        """Refuse (422 naming order_amount) an unconfirmed amount far above the customer's
        history; True when it needed and got the rep's confirmation (flag it to the manager)."""
        ceiling = settings.order_amount_ceiling if settings else DEFAULT_CEILING
        if amount < ceiling:  # below the ceiling no history makes it suspicious: no query
            return False
        largest = (await self.largest_recent([customer.id], on)).get(customer.id)
        if not needs_confirmation(amount, largest, ceiling):
            return False
        if confirmed:
            return True
        message = (
            f"{amount} is more than 10 times this customer's largest order of the last 365 days "
            f"({largest or 0}); check it, or send amount_confirmed: true if it is right"
        )
        raise ProblemError(
            422,
            f"order_amount: {message}",
            [{"field": "order_amount", "message": message}],
            needs_confirmation=True,
            largest_recent_order=str(largest or 0),
        )

    async def flag_to_manager(
        self, rep: Principal, customer: Customer, order_id: UUID, amount: Decimal
    ) -> None:
        """A confirmed large amount goes to the rep's manager's inbox (and push)."""
        manager = await self._manager_of(rep)
        if manager is None:
            return
        manager_id, locale = manager
        token = i18n.current_locale.set(i18n.negotiate(locale, None))
        try:
            title = _("Large order: %(customer)s", customer=customer.name)
            body = _(
                "%(rep)s confirmed an order of %(amount)s, far above this customer's usual orders.",
                rep=rep.name,
                amount=format_money(amount),
            )
        finally:
            i18n.current_locale.reset(token)
        await self.ctx.get(NotificationsService).notify(
            manager_id, "large_order", title, body, f"large_order:{order_id}", url=f"/customers/{customer.id}"
        )

    async def _manager_of(self, rep: Principal) -> tuple[UUID, str | None] | None:
        """The nearest active unit manager above the rep, and their language."""
        manager_id = (await OrgTree.load(self.session)).manager_above(rep.org_unit_id, skip={rep.id})
        if manager_id is None:
            return None
        row = (
            await self.session.execute(
                select(User.id, User.locale).where(User.id == manager_id, User.active.is_(True))
            )
        ).first()
        return (row.id, row.locale) if row else None

    async def correct(
        self, principal: Principal, access: Scope, order_id: UUID, delta: Decimal, reason: str
    ) -> tuple[Order, Decimal]:
        """Book a correcting entry for an order (negative: a credit note); (entry, corrected total)."""
        original = await self.session.scalar(
            select(Order).where(Order.id == order_id, visible_orders(access)).with_for_update()
        )
        if original is None:
            raise not_found("Order", order_id, "order_id")
        if original.corrects_order_id is not None:
            raise field_error("order_id", "is itself a correction; correct the original order")
        if not delta.is_finite() or abs(delta) > MAX_ORDER or delta != delta.quantize(Decimal("0.01")):
            raise field_error("amount", "must be an amount with at most 2 decimal places")
        reason = reason.strip()
        if not reason:
            raise field_error("reason", "must say why the order is corrected")
        so_far = await self.session.scalar(
            select(func.coalesce(func.sum(Order.amount), 0)).where(Order.corrects_order_id == original.id)
        )
        now = self.clock.now()
        rep_of_order = original.rep_id
        by_manager = principal.role in ("manager", "executive", "admin") and rep_of_order != principal.id
        problem = correction_problem(
            original=original.amount,
            corrected_so_far=Decimal(so_far or 0),
            delta=delta,
            by_taker=rep_of_order == principal.id,
            by_manager=by_manager,
            created_at=original.created_at,
            now=now,
        )
        if problem is not None:
            status = 403 if problem[0] == "order_id" else 422
            raise field_error(problem[0], problem[1], status)
        entry = Order(
            customer_id=original.customer_id,
            rep_id=original.rep_id,
            amount=delta.quantize(Decimal("0.01")),
            currency=original.currency,
            # Dated like the original: the period it was booked in shows the corrected figure.
            ordered_on=original.ordered_on,
            source=CORRECTION,
            created_at=now,
            corrects_order_id=original.id,
            correction_reason=reason,
            created_by=principal.id,
        )
        self.session.add(entry)
        await self.session.flush()
        total = original.amount + Decimal(so_far or 0) + entry.amount
        await self.ctx.get(AuditService).record(
            principal.id,
            "order.corrected",
            "order",
            original.id,
            {"amount": str(original.amount + Decimal(so_far or 0))},
            {
                "amount": str(total),
                "correction_id": str(entry.id),
                "delta": str(entry.amount),
                "reason": reason,
            },
        )
        return entry, total
