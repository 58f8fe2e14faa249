"""Visit check-ins (client-generated UUID ids) and the promises their next steps create."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JSONType, Money


class Checkin(Base):
    __tablename__ = "checkins"

    rep_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id"))
    # No FK: tasks.checkin_id points back here; the service checks the task belongs to the rep.
    task_id: Mapped[UUID | None]
    checked_in_at: Mapped[datetime]  # device time
    received_at: Mapped[datetime]
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    distance_m: Mapped[float | None]
    geo_status: Mapped[str] = mapped_column(String(12))  # verified | out_of_range | no_fix
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    request_hash: Mapped[str] = mapped_column(String(64))  # replay detection
    checked_out_at: Mapped[datetime | None]
    checkout_received_at: Mapped[datetime | None]
    checkout_hash: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(24))
    order_amount: Mapped[Decimal | None] = mapped_column(Money)
    notes: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(String(500))
    next_step_due: Mapped[date | None]
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # A rep has one open visit at a time: a later check-in closes an open one at its own time
    # (checked_out_at set, no outcome: checkout_hash stays NULL, so the real check-out is still
    # accepted). No FK: either check-in may arrive first when the phone replays its outbox.
    closed_by_checkin_id: Mapped[UUID | None]

    __table_args__ = (
        Index("ix_checkins_rep_id_checked_in_at", "rep_id", "checked_in_at"),
        Index("ix_checkins_customer_id_checked_in_at", "customer_id", "checked_in_at"),
        # Completed visits in the partial UTC days at a period's edges, for every rep at once
        # (plans/actuals.py): on PostgreSQL read from the index alone.
        Index(
            "ix_checkins_done_checked_in_at",
            "checked_in_at",
            "rep_id",
            postgresql_where=text("checked_out_at IS NOT NULL"),
            sqlite_where=text("checked_out_at IS NOT NULL"),
        ),
    )


class Promise(Base):
    """A next step promised to a customer; the planner schedules it when due."""

    __tablename__ = "promises"

    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id"))
    rep_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    checkin_id: Mapped[UUID | None] = mapped_column(ForeignKey("checkins.id"))
    text: Mapped[str] = mapped_column(String(500))
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | done | cancelled
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_promises_rep_id_status_due_on", "rep_id", "status", "due_on"),)
