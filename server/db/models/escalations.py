"""Escalations on the rep -> manager -> executive ladder and their event history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JSONType


class Escalation(Base):
    __tablename__ = "escalations"

    rule: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(16))  # user | org_unit
    subject_id: Mapped[UUID]
    org_unit_id: Mapped[UUID | None] = mapped_column(ForeignKey("org_units.id"))
    severity: Mapped[str] = mapped_column(String(8))  # yellow | orange | red
    level: Mapped[int]  # 1 rep | 2 manager | 3 executive
    state: Mapped[str] = mapped_column(String(12), default="open")
    dedup_key: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime]
    level_changed_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    clear_count: Mapped[int] = mapped_column(default=0)
    acknowledged_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    resolved_note: Mapped[str | None] = mapped_column(Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (
        # One open (not resolved) escalation per dedup key: enforced by a partial unique index.
        Index(
            "uq_escalations_open_dedup_key",
            "dedup_key",
            unique=True,
            postgresql_where=text("state <> 'resolved'"),
            sqlite_where=text("state <> 'resolved'"),
        ),
        Index("ix_escalations_state_level", "state", "level"),
        Index("ix_escalations_subject", "subject_type", "subject_id"),
    )


class EscalationEvent(Base):
    __tablename__ = "escalation_events"

    escalation_id: Mapped[UUID] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(16))  # opened|raised|climbed|acknowledged|resolved
    from_level: Mapped[int | None]
    to_level: Mapped[int | None]
    severity: Mapped[str | None] = mapped_column(String(8))
    actor_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_escalation_events_escalation_id_at", "escalation_id", "at"),)
