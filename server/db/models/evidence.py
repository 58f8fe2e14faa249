"""Visit evidence: the photos taken at a check-in (their files live in the blob store)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class VisitPhoto(Base):
    """One photo; `id` is the phone's client UUID, so a replayed upload finds its row.

    A deleted photo stays as a tombstone (who, when, why) so that a late replay of the same
    upload cannot bring it back; its files and position are removed by the purge-photos job.
    """

    __tablename__ = "visit_photos"

    checkin_id: Mapped[UUID] = mapped_column(ForeignKey("checkins.id"))
    customer_id: Mapped[UUID] = mapped_column(ForeignKey("customers.id"))
    rep_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    # The rep's company when taken: retention is a company setting.
    company_id: Mapped[UUID | None] = mapped_column(ForeignKey("org_units.id"))
    content_type: Mapped[str] = mapped_column(String(16))  # image/jpeg | image/png | image/webp
    size_bytes: Mapped[int]  # of the stored (cleaned) image
    width: Mapped[int]
    height: Mapped[int]
    upload_sha256: Mapped[str] = mapped_column(String(64))  # of the bytes sent: a replay matches it
    image_key: Mapped[str] = mapped_column(String(200))
    thumb_key: Mapped[str] = mapped_column(String(200))
    taken_at: Mapped[datetime | None]  # the capture time (the phone's, or the EXIF one)
    received_at: Mapped[datetime]
    # The check-in's position as the server verified it (never the photo's own EXIF GPS).
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    geo_status: Mapped[str] = mapped_column(String(12))
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    delete_reason: Mapped[str | None] = mapped_column(String(500))
    files_purged_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_visit_photos_checkin_id", "checkin_id"),
        Index("ix_visit_photos_customer_id_received_at", "customer_id", "received_at"),
        Index("ix_visit_photos_company_id_received_at", "company_id", "received_at"),
        Index("ix_visit_photos_deleted_at_files_purged_at", "deleted_at", "files_purged_at"),
    )
