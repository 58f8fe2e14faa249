"""Customers, their grade history and the visit policy per grade."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import AuditedBase, Base, Money


class Customer(AuditedBase):
    __tablename__ = "customers"

    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    owner_rep_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    org_unit_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id"))
    address: Mapped[str | None] = mapped_column(String(500))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|prospect|closed
    grade: Mapped[str] = mapped_column(String(1), default="D")  # effective grade
    computed_grade: Mapped[str | None] = mapped_column(String(1))
    grade_override: Mapped[str | None] = mapped_column(String(1))
    grade_override_reason: Mapped[str | None] = mapped_column(String(500))
    grade_override_until: Mapped[date | None]
    grade_override_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    r_score: Mapped[int | None]
    f_score: Mapped[int | None]
    m_score: Mapped[int | None]
    revenue_365: Mapped[Decimal | None] = mapped_column(Money)
    revenue_share: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    graded_at: Mapped[datetime | None]
    last_visit_on: Mapped[date | None]
    last_order_on: Mapped[date | None]
    next_visit_due: Mapped[date | None]
    potential: Mapped[Decimal | None] = mapped_column(Money)  # estimated yearly potential

    __table_args__ = (
        Index("ix_customers_owner_rep_id_status", "owner_rep_id", "status"),
        Index("ix_customers_org_unit_id", "org_unit_id"),
        Index("ix_customers_grade", "grade"),
        Index("ix_customers_name", "name"),
    )


class GradeChange(Base):
    """Every grade change, computed or manual; drops from A are planner/manager signals."""

    __tablename__ = "grade_history"

    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    old_grade: Mapped[str | None] = mapped_column(String(1))
    new_grade: Mapped[str] = mapped_column(String(1))
    source: Mapped[str] = mapped_column(String(16))  # regrade | override | override_expired
    reason: Mapped[str | None] = mapped_column(String(500))
    changed_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]
    graded_on: Mapped[date]
    signal: Mapped[str | None] = mapped_column(String(32))  # e.g. "drop_from_a"

    __table_args__ = (
        Index("ix_grade_history_customer_id_at", "customer_id", "at"),
        Index("ix_grade_history_signal", "signal", "graded_on"),
    )


class VisitPolicy(Base):
    """Visit interval per grade for one company (defaults A 7, B 14, C 30, D 60)."""

    __tablename__ = "visit_policies"

    company_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    grade: Mapped[str] = mapped_column(String(1))
    interval_days: Mapped[int]
    duration_min: Mapped[int] = mapped_column(default=30)

    __table_args__ = (UniqueConstraint("company_id", "grade"),)
