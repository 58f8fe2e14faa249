"""Photo housekeeping: company retention, and removing the files of deleted photos.

Retention marks photos older than the company's `photo_retention_days` (0 = keep forever) as
deleted (one UPDATE per company that has a retention); the purge then removes the files of every
deleted photo and forgets its position. The rows stay as tombstones, so a late replay of an
upload cannot bring a photo back. Idempotent: a second run finds nothing to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from server.core.services import Service
from server.db.models import OrgSettings, VisitPhoto
from server.services.evidence.storage import blob_store

PURGE_BATCH = 500


class PhotoPurgeService(Service):
    async def expire(self, at: datetime) -> int:
        """Mark photos past their company's retention as deleted; how many."""
        retentions = await self.session.execute(
            select(OrgSettings.company_id, OrgSettings.photo_retention_days).where(
                OrgSettings.photo_retention_days > 0
            )
        )
        expired = 0
        for company_id, days in retentions:
            result = cast(
                CursorResult[Any],
                await self.session.execute(
                    update(VisitPhoto)
                    .where(
                        VisitPhoto.company_id == company_id,
                        VisitPhoto.deleted_at.is_(None),
                        VisitPhoto.received_at < at - timedelta(days=days),
                    )
                    .values(deleted_at=at, delete_reason="retention")
                ),
            )
            expired += result.rowcount
        return expired

    async def purge_files(self, at: datetime) -> int:
        """Delete the files of deleted photos not purged yet; how many photos."""
        store = blob_store(self.settings)
        purged = 0
        while True:
            rows = (
                await self.session.execute(
                    select(VisitPhoto.id, VisitPhoto.image_key, VisitPhoto.thumb_key)
                    .where(VisitPhoto.deleted_at.is_not(None), VisitPhoto.files_purged_at.is_(None))
                    .order_by(VisitPhoto.deleted_at, VisitPhoto.id)
                    .limit(PURGE_BATCH)
                )
            ).all()
            if not rows:
                return purged
            for _id, image_key, thumb_key in rows:
                await store.delete(image_key)
                await store.delete(thumb_key)
            await self.session.execute(
                update(VisitPhoto)
                .where(VisitPhoto.id.in_([row.id for row in rows]))
                .values(files_purged_at=at, lat=None, lng=None)
            )
            purged += len(rows)
