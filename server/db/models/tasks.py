"""Daily plans and their ranked tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import AuditedBase, Base, JSONType


class DailyPlan(Base):
    __tablename__ = "daily_plans"

    rep_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    local_date: Mapped[date]
    generated_at: Mapped[datetime]
    algorithm: Mapped[str] = mapped_column(String(32))
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (UniqueConstraint("rep_id", "local_date"),)


# "Open": planned or snoozed here, not moved to another date (status_reason "rescheduled").
OPEN_CUSTOMER_TASK = (
    "customer_id IS NOT NULL AND status IN ('planned', 'snoozed') "
    "AND COALESCE(status_reason, '') <> 'rescheduled'"
)


class Task(AuditedBase):
    __tablename__ = "tasks"

    rep_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    local_date: Mapped[date]
    customer_id: Mapped[UUID | None] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(12))  # visit | call | follow_up | collect | custom
    title: Mapped[str | None] = mapped_column(String(300))
    rank: Mapped[int | None]
    route_order: Mapped[int | None]
    score: Mapped[float] = mapped_column(default=0.0)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(10), default="planned")
    # planned | done | skipped | snoozed | missed
    due_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(12))  # planner | manager | rep | carry_over
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    checkin_id: Mapped[UUID | None] = mapped_column(ForeignKey("checkins.id"))
    promise_id: Mapped[UUID | None] = mapped_column(ForeignKey("promises.id"))
    carried_from_id: Mapped[UUID | None] = mapped_column(ForeignKey("tasks.id"))
    status_reason: Mapped[str | None] = mapped_column(String(40))
    status_note: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[datetime | None]
    status_changed_at: Mapped[datetime | None]
    distance_m: Mapped[float | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_tasks_rep_id_local_date", "rep_id", "local_date"),
        Index("ix_tasks_status_due_at", "status", "due_at"),
        Index("ix_tasks_customer_id", "customer_id"),
        # Deleting a task checks this self-reference; without an index that is a full scan.
        Index("ix_tasks_carried_from_id", "carried_from_id"),
        # One open task per customer and kind on a rep's day, however many adds race for it (a
        # call and a visit to one customer on one day stay two tasks).
        Index(
            "uq_tasks_open_customer_day",
            "rep_id",
            "local_date",
            "customer_id",
            "kind",
            unique=True,
            postgresql_where=text(OPEN_CUSTOMER_TASK),
            sqlite_where=text(OPEN_CUSTOMER_TASK),
        ),
    )
