"""Orders: the revenue actuals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, Money


class Order(Base):
    __tablename__ = "orders"

    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id"))
    rep_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    ordered_on: Mapped[date]
    source: Mapped[str] = mapped_column(String(8))  # checkin | import | api | correct
    checkin_id: Mapped[UUID | None] = mapped_column(ForeignKey("checkins.id"), unique=True)
    created_at: Mapped[datetime]
    # A correction is its own row (negative: a credit note) referencing the order it corrects;
    # nothing is ever deleted, and every sum of orders counts the corrected figure.
    corrects_order_id: Mapped[UUID | None] = mapped_column(ForeignKey("orders.id"))
    correction_reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    # The rep confirmed an amount far above the customer's history ("Did you mean …?").
    amount_confirmed: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        # The amount rides along: the planner sums a customer's year from the index alone.
        Index("ix_orders_customer_id_ordered_on", "customer_id", "ordered_on", postgresql_include=["amount"]),
        Index("ix_orders_rep_id_ordered_on", "rep_id", "ordered_on"),
        Index("ix_orders_ordered_on", "ordered_on"),
        Index("ix_orders_corrects_order_id", "corrects_order_id"),
    )
