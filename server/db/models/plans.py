"""Targets (the sales plan), their adjustments and named seasonal distributions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import AuditedBase, Base, JSONType, Money


class Target(AuditedBase):
    __tablename__ = "targets"

    scope: Mapped[str] = mapped_column(String(16))  # org_unit | user | customer
    scope_id: Mapped[UUID]
    metric: Mapped[str] = mapped_column(String(16))  # revenue | visits | new_customers
    period_start: Mapped[date]
    period_end: Mapped[date]  # inclusive
    granularity: Mapped[str] = mapped_column(String(8))  # year | quarter | month | week
    amount: Mapped[Decimal] = mapped_column(Money)
    # the amount as last approved (plan, re-plan or an approved adjustment): the ±15% reference
    baseline_amount: Mapped[Decimal | None] = mapped_column(Money)
    parent_id: Mapped[UUID | None] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    # seasonal month weights {"1": 8.0, ..., "12": 9.5}; None means by working days
    weights: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    distribution_id: Mapped[UUID | None] = mapped_column(ForeignKey("seasonal_distributions.id"))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # draft | submitted | approved | returned | superseded
    version: Mapped[int] = mapped_column(default=1)
    review_comment: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)

    __table_args__ = (
        Index("ix_targets_scope_lookup", "scope", "scope_id", "metric", "period_start"),
        Index("ix_targets_parent_id", "parent_id"),
        # A sweep's question (every rep's approved month target containing today) is a range of
        # this index, not a scan of every target ever set (server/services/plans/progress_targets.py);
        # on PostgreSQL it carries the columns read, so the range is an index-only scan.
        Index(
            "ix_targets_approved_period",
            "scope",
            "metric",
            "granularity",
            "period_start",
            sqlite_where=text("status = 'approved'"),
            postgresql_where=text("status = 'approved'"),
            postgresql_include=[
                "period_end",
                "scope_id",
                "id",
                "amount",
                "version",
                "approved_at",
                "weights",
            ],
        ),
    )


class TargetAdjustment(Base):
    """A change to a target's amount; beyond ±15% it waits for an executive."""

    __tablename__ = "target_adjustments"

    target_id: Mapped[UUID] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    old_amount: Mapped[Decimal] = mapped_column(Money)
    new_amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # applied | pending | approved | rejected
    # rebalance (the parent stays; open siblings absorb) | parent (the parent moves with it)
    mode: Mapped[str] = mapped_column(String(10), default="rebalance", server_default="rebalance")
    requested_by: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    decided_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_target_adjustments_target_id", "target_id"),)


class SeasonalDistribution(AuditedBase):
    """A named set of 12 month weights summing to 100% (ERPNext-style)."""

    __tablename__ = "seasonal_distributions"

    company_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    month_weights: Mapped[dict[str, Any]] = mapped_column(JSONType)
