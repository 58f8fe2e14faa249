"""Organisation tree, holiday calendars and per-organisation settings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import AuditedBase, Base, JSONType, Money


class OrgUnit(AuditedBase):
    __tablename__ = "org_units"

    parent_id: Mapped[UUID | None] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # company | region | team
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # No FK: users.org_unit_id already points here, and a cycle would break migrations.
    manager_user_id: Mapped[UUID | None]
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)

    __table_args__ = (Index("ix_org_units_parent_id", "parent_id"),)


class Holiday(Base):
    """A non-working day for an org unit and everything below it."""

    __tablename__ = "holidays"

    org_unit_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("org_unit_id", "day"),)


class OrgSettings(AuditedBase):
    """Tunable rules for one company: thresholds, radius, quiet hours, weights.

    The one home of company settings; every key is documented in docs/settings.md. Read them
    per company (never `.limit(1)`), edit them through services/admin/settings.py (audited).
    """

    __tablename__ = "org_settings"

    company_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"), unique=True)
    pace_yellow: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.10"))
    pace_orange: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.20"))
    pace_red: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.30"))
    checkin_radius_m: Mapped[int] = mapped_column(default=200)
    # An order above 10x the customer's largest of 365 days AND at least this much needs the
    # rep's confirmation and is flagged to the manager.
    order_amount_ceiling: Mapped[Decimal] = mapped_column(Money, default=Decimal("10000"))
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="07:00")
    # Working hours of the company's reps (local time): overdue reminders go out only inside
    # them, on working days of the rep's unit (docs/notifications.md).
    work_start: Mapped[str] = mapped_column(String(5), default="09:00", server_default="09:00")
    work_end: Mapped[str] = mapped_column(String(5), default="18:00", server_default="18:00")
    reminder_second_window_h: Mapped[int] = mapped_column(default=4)
    escalation_climb_h: Mapped[int] = mapped_column(default=24)
    # Hours after the first climb before the second (DESIGN §5: 24 h, then 48 h more).
    escalation_next_climb_h: Mapped[int] = mapped_column(default=48)
    # No pace warning before this many working days of a period have passed.
    grace_working_days: Mapped[int] = mapped_column(default=3)
    # Overdue tasks of one rep are grouped into one reminder per window of this many minutes.
    reminder_group_min: Mapped[int] = mapped_column(default=60)
    # The planner's effort split by bucket over a rep's week (docs/planner.md "Effort by grade");
    # shares add up to at most 1, D accounts and the rest take what is left.
    effort_a: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.4"), server_default="0.4")
    effort_b: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.3"), server_default="0.3")
    effort_c: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.2"), server_default="0.2")
    effort_prospect: Mapped[Decimal] = mapped_column(
        Numeric(5, 4), default=Decimal("0.1"), server_default="0.1"
    )
    # An open deal asks for a visit when its expected close is this near, or its stage this stale.
    deal_close_days: Mapped[int] = mapped_column(default=14, server_default="14")
    deal_stale_days: Mapped[int] = mapped_column(default=21, server_default="21")
    outcomes: Mapped[list[str]] = mapped_column(
        JSONType,
        default=lambda: ["order", "follow_up", "no_decision", "not_available", "lost"],
    )
    scorecard_weights: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=lambda: {"result": 0.5, "process": 0.3, "team": 0.2}
    )
    # Visit photos older than this many days are deleted with their files; 0 keeps them forever.
    photo_retention_days: Mapped[int] = mapped_column(default=0, server_default="0")
