"""Orders (the revenue actuals) from the API: idempotent by external_ref, scoped, audited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.errors import field_error, not_found
from server.core.services import Service
from server.db.models import Customer, Order, User
from server.domain.plans import FieldProblem

MAX_ORDER = Decimal("99999999999999.99")
CURRENCY = re.compile(r"^[A-Z]{3}$")
# Orders are dated in the seller's local day; a day of slack covers every time zone.
FUTURE_SLACK = timedelta(days=1)
ORDER_FIELDS = ("customer_id", "rep_id", "amount", "currency", "ordered_on")


def check_order_amount(field: str, value: Decimal) -> Decimal:
    """An order amount is positive money with cents at most."""
    if not value.is_finite() or value <= 0:
        raise FieldProblem(field, "must be a positive amount")
    if value > MAX_ORDER or value != value.quantize(Decimal("0.01")):
        raise FieldProblem(field, "must have at most 2 decimal places and 14 digits before the point")
    return value.quantize(Decimal("0.01"))


def check_ordered_on(field: str, value: date, today: date) -> date:
    if value > today + FUTURE_SLACK:
        raise FieldProblem(field, f"{value} is in the future")
    if value.year < 2000:
        raise FieldProblem(field, f"{value} is implausibly old")
    return value


def check_currency(field: str, value: str) -> str:
    if not CURRENCY.match(value):
        raise FieldProblem(field, "must be a three-letter ISO 4217 code such as USD")
    return value


def order_snapshot(order: Order) -> dict[str, Any]:
    return {name: str(getattr(order, name)) for name in (*ORDER_FIELDS, "external_ref", "source")}


def visible_orders(access: Scope) -> ColumnElement[bool]:
    """Orders the rep took, or (for managers and up) taken by or for customers in the subtree."""
    in_scope_customers = select(Customer.id).where(access.customer_clause(Customer))
    if access.principal.is_rep:
        return Order.rep_id == access.principal.id
    return or_(access.user_clause(Order.rep_id), Order.customer_id.in_(in_scope_customers))


class OrdersService(Service):
    async def list(
        self, access: Scope, filters: Sequence[ColumnElement[bool]], limit: int, offset: int
    ) -> list[Order]:
        query = (
            select(Order)
            .where(visible_orders(access), *filters)
            .order_by(Order.ordered_on.desc(), Order.id)
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.scalars(query)).all())

    async def upsert(self, principal: Principal, access: Scope, fields: dict[str, Any]) -> tuple[Order, str]:
        """Create an order, or update/keep the one with this external_ref: (order, created|updated|unchanged)."""
        try:
            fields["amount"] = check_order_amount("amount", fields["amount"])
            fields["ordered_on"] = check_ordered_on(
                "ordered_on", fields["ordered_on"], self.clock.now().date()
            )
            fields["currency"] = check_currency("currency", fields["currency"])
        except FieldProblem as problem:
            raise field_error(problem.field, problem.message) from None
        customer = await self.session.scalar(
            select(Customer).where(Customer.id == fields["customer_id"], access.customer_clause(Customer))
        )
        if customer is None:
            raise not_found("Customer", fields["customer_id"], "customer_id")
        fields["rep_id"] = fields.get("rep_id") or customer.owner_rep_id
        if fields["rep_id"] is not None:
            rep = (
                await self.session.execute(
                    select(User.id, User.org_unit_id).where(User.id == fields["rep_id"])
                )
            ).first()
            if rep is None or not access.sees_user(rep.id, rep.org_unit_id):
                raise not_found("User", fields["rep_id"], "rep_id")
        existing = None
        if fields.get("external_ref"):
            existing = await self.session.scalar(
                select(Order).where(Order.external_ref == fields["external_ref"])
            )
            visible = existing is not None and await self.session.scalar(
                select(Order.id).where(Order.id == existing.id, visible_orders(access))
            )
            if existing is not None and not visible:
                raise field_error("external_ref", "is already used by an order outside your scope", 409)
        audit = self.ctx.get(AuditService)
        if existing is not None:
            changes = {k: fields[k] for k in ORDER_FIELDS if getattr(existing, k) != fields[k]}
            if not changes:
                return existing, "unchanged"
            before = order_snapshot(existing)
            for name, value in changes.items():
                setattr(existing, name, value)
            await self.session.flush()
            await audit.record(
                principal.id, "order.updated", "order", existing.id, before, order_snapshot(existing)
            )
            await self._touch_customer(customer, existing.ordered_on)
            return existing, "updated"
        order = Order(source="api", created_at=self.clock.now(), **fields)
        self.session.add(order)
        await self.session.flush()
        await audit.record(principal.id, "order.created", "order", order.id, after=order_snapshot(order))
        await self._touch_customer(customer, order.ordered_on)
        return order, "created"

    async def _touch_customer(self, customer: Customer, ordered_on: date) -> None:
        if customer.last_order_on is None or ordered_on > customer.last_order_on:
            customer.last_order_on = ordered_on
            await self.session.flush()
