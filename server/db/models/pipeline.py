"""Opportunities, the company's stages they move through, and every stage change."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import AuditedBase, Base, Money


class OpportunityStage(Base):
    """One stage of a company's funnel; `kind` says whether a deal there is open, won or lost."""

    __tablename__ = "opportunity_stages"

    company_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    default_probability: Mapped[int]  # percent, 0..100
    kind: Mapped[str] = mapped_column(String(8), default="open")  # open | won | lost
    active: Mapped[bool] = mapped_column(default=True)  # a retired stage keeps its history

    __table_args__ = (
        UniqueConstraint("company_id", "name"),
        Index("ix_opportunity_stages_company_id_position", "company_id", "position"),
    )


class Opportunity(AuditedBase):
    """A deal in the funnel, scoped like its customer (owner rep, org unit of the customer)."""

    __tablename__ = "opportunities"

    company_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id"))
    org_unit_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id"))
    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id"))
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    stage_id: Mapped[UUID] = mapped_column(ForeignKey("opportunity_stages.id"))
    probability: Mapped[int]  # percent; the stage's default unless set by hand
    probability_overridden: Mapped[bool] = mapped_column(default=False)
    expected_close: Mapped[date | None]
    owner_rep_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    next_step: Mapped[str | None] = mapped_column(String(500))
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    stage_changed_at: Mapped[datetime]
    closed_on: Mapped[date | None]  # the day it was won or lost
    # Won -> one order in the actuals; unique so a retried conversion never makes two.
    order_id: Mapped[UUID | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    # Created at a visit's check-out: a replayed check-out finds it instead of creating another.
    source_checkin_id: Mapped[UUID | None] = mapped_column(ForeignKey("checkins.id"), unique=True)

    __table_args__ = (
        Index("ix_opportunities_owner_rep_id_stage_id", "owner_rep_id", "stage_id"),
        Index("ix_opportunities_org_unit_id", "org_unit_id"),
        Index("ix_opportunities_customer_id", "customer_id"),
        Index("ix_opportunities_company_id_expected_close", "company_id", "expected_close"),
    )


class OpportunityStageChange(Base):
    """Every stage change (and the creation, from_stage NULL), with its time and actor."""

    __tablename__ = "opportunity_stage_changes"

    opportunity_id: Mapped[UUID] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    from_stage_id: Mapped[UUID | None] = mapped_column(ForeignKey("opportunity_stages.id"))
    to_stage_id: Mapped[UUID] = mapped_column(ForeignKey("opportunity_stages.id"))
    at: Mapped[datetime]
    by_user_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    # The check-out that moved it: a replayed check-out never records the change twice.
    checkin_id: Mapped[UUID | None] = mapped_column(ForeignKey("checkins.id"), unique=True)

    __table_args__ = (
        Index("ix_opportunity_stage_changes_opportunity_id_at", "opportunity_id", "at"),
        Index("ix_opportunity_stage_changes_at", "at"),
    )
