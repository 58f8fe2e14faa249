"""Reps' own weekly plans (reviews area): how a rep will close their gap this week, as to-do items
with a due time, resources and a measured result, reviewed by their manager.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import AuditedBase, Base, Money


class RepPlan(AuditedBase):
    __tablename__ = "rep_plans"

    rep_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    week_start: Mapped[date]  # Monday of the rep's local ISO week
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # draft | submitted | approved | changes_requested
    summary: Mapped[str | None] = mapped_column(Text)  # how the rep means to close the gap
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("rep_id", "week_start"),
        Index("ix_rep_plans_week_start", "week_start"),
    )


class RepPlanItem(AuditedBase):
    __tablename__ = "rep_plan_items"

    plan_id: Mapped[UUID] = mapped_column(ForeignKey("rep_plans.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(300))
    due_at: Mapped[datetime | None]
    resources: Mapped[str | None] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(String(16), default="custom")
    # revenue | visits | new_customers | orders | custom
    target_value: Mapped[Decimal | None] = mapped_column(Money)
    result_text: Mapped[str | None] = mapped_column(String(300))  # "3 new accounts in Pudong"
    customer_id: Mapped[UUID | None] = mapped_column(ForeignKey("customers.id"))
    opportunity_id: Mapped[UUID | None] = mapped_column(ForeignKey("opportunities.id", ondelete="SET NULL"))
    manual_achieved: Mapped[Decimal | None] = mapped_column(Money)  # custom results, entered by hand
    done_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_rep_plan_items_plan_id", "plan_id"),
        Index("ix_rep_plan_items_due_at", "due_at"),
    )


class RepPlanComment(Base):
    __tablename__ = "rep_plan_comments"

    plan_id: Mapped[UUID] = mapped_column(ForeignKey("rep_plans.id", ondelete="CASCADE"))
    item_id: Mapped[UUID | None] = mapped_column(ForeignKey("rep_plan_items.id", ondelete="CASCADE"))
    author_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]

    __table_args__ = (Index("ix_rep_plan_comments_plan_id", "plan_id"),)
