"""Visit forms a company defines (versioned) and the answers given at a visit."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import AuditedBase, Base, JSONType


class VisitForm(AuditedBase):
    """A form of one company; `version` is its current definition (VisitFormVersion)."""

    __tablename__ = "visit_forms"

    company_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    # Assignment: customers whose grade and status are listed (an empty list matches all).
    # Customers have no tags in this product, so grade and status are the two keys.
    grades: Mapped[list[str]] = mapped_column(JSONType, default=list)
    statuses: Mapped[list[str]] = mapped_column(JSONType, default=list)

    __table_args__ = (Index("ix_visit_forms_company_id", "company_id"),)


class VisitFormVersion(Base):
    """One definition of a form's fields; answers keep the version they answered."""

    __tablename__ = "visit_form_versions"

    form_id: Mapped[UUID] = mapped_column(ForeignKey("visit_forms.id", ondelete="CASCADE"))
    version: Mapped[int]
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (UniqueConstraint("form_id", "version"),)


class VisitFormAnswer(Base):
    """One set of answers per check-in and form, written with the visit's check-out."""

    __tablename__ = "visit_form_answers"

    checkin_id: Mapped[UUID] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"))
    form_id: Mapped[UUID] = mapped_column(ForeignKey("visit_forms.id"))
    form_version: Mapped[int]
    rep_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id"))
    answered_at: Mapped[datetime]  # the check-out's device time, in UTC
    values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    photo_count: Mapped[int | None]

    __table_args__ = (
        UniqueConstraint("checkin_id", "form_id"),  # a replay never stores a second set
        Index("ix_visit_form_answers_form_id_answered_at", "form_id", "answered_at"),
        Index("ix_visit_form_answers_customer_id_answered_at", "customer_id", "answered_at"),
    )
