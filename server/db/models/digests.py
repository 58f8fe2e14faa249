"""Manager morning digests: one per manager per local day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JSONType


class Digest(Base):
    __tablename__ = "digests"

    manager_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    local_date: Mapped[date]
    created_at: Mapped[datetime]
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (UniqueConstraint("manager_id", "local_date"),)
