"""Visit photos: upload (idempotent per client UUID), read, and delete, all scoped like check-ins.

A photo belongs to a check-in; whoever may see the check-in may see its photos (the rep, the
managers above them, executives), everyone else gets 404. Only the check-in's rep uploads.
Flushes, never commits.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.errors import ProblemError, field_error, not_found
from server.core.i18n import gettext as _
from server.core.org import OrgTree
from server.core.services import Service
from server.core.upsert import insert_or_skip
from server.db.models import Checkin, VisitPhoto
from server.services.evidence.photos_image import CleanPhoto, PhotoRejected, clean_photo
from server.services.evidence.storage import BlobStore, blob_store

REP_DELETE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Upload:
    """One photo as the phone sent it."""

    id: UUID
    data: bytes
    taken_at: datetime | None = None  # the phone's capture time; the EXIF one when absent


def photo_keys(photo_id: UUID, company_id: UUID | None, checkin_id: UUID, extension: str) -> tuple[str, str]:
    base = f"photos/{company_id or 'none'}/{checkin_id}/{photo_id}"
    return f"{base}.{extension}", f"{base}.thumb.jpg"


class PhotosService(Service):
    @property
    def store(self) -> BlobStore:
        return blob_store(self.settings)

    async def _own_checkin(self, rep: Principal, checkin_id: UUID) -> Checkin:
        checkin = await self.session.scalar(
            select(Checkin).where(Checkin.id == checkin_id, Checkin.rep_id == rep.id)
        )
        if checkin is None:
            raise not_found("Check-in", checkin_id, "checkin_id")
        return checkin

    async def checkin_in_scope(self, scope: Scope, checkin_id: UUID) -> Checkin:
        checkin = await self.session.scalar(
            select(Checkin).where(Checkin.id == checkin_id, scope.user_clause(Checkin.rep_id))
        )
        if checkin is None:
            raise not_found("Check-in", checkin_id, "checkin_id")
        return checkin

    async def add(self, rep: Principal, checkin_id: UUID, upload: Upload) -> tuple[VisitPhoto, bool]:
        """Store the photo once: (photo, True) the first time, (stored photo, False) for a replay
        of the same bytes; the same id with other bytes or another check-in is 409."""
        checkin = await self._own_checkin(rep, checkin_id)
        digest = hashlib.sha256(upload.data).hexdigest()
        stored = await self.session.get(VisitPhoto, upload.id)
        if stored is not None:  # a replay: answered before any decoding
            return self._replayed(stored, checkin_id, digest), False
        limit = self.settings.photo_max_bytes
        if len(upload.data) > limit:
            raise field_error("photo", f"is {len(upload.data):,} bytes; at most {limit:,} are accepted", 413)
        if not upload.data:
            raise field_error("photo", "is empty", 422)
        clean = await self._clean(upload.data)
        now = self.clock.now()
        if upload.taken_at is not None and upload.taken_at > now + timedelta(minutes=5):
            raise field_error("taken_at", "is in the future")
        company_id = await self._company_of(rep.org_unit_id)
        image_key, thumb_key = photo_keys(upload.id, company_id, checkin.id, clean.extension)
        # Files first: a row never points at a missing file. A request that fails after this
        # leaves files no row names; the same upload replayed writes the same keys again.
        await self.store.put(image_key, clean.data, clean.content_type)
        await self.store.put(thumb_key, clean.thumbnail, "image/jpeg")
        verified = checkin.geo_status == "verified"
        values = {
            "id": upload.id,
            "checkin_id": checkin.id,
            "customer_id": checkin.customer_id,
            "rep_id": checkin.rep_id,
            "company_id": company_id,
            "content_type": clean.content_type,
            "size_bytes": len(clean.data),
            "width": clean.width,
            "height": clean.height,
            "upload_sha256": digest,
            "image_key": image_key,
            "thumb_key": thumb_key,
            "taken_at": upload.taken_at or _instant(clean, rep.timezone),
            "received_at": now,
            "lat": checkin.lat if verified else None,
            "lng": checkin.lng if verified else None,
            "geo_status": checkin.geo_status,
        }
        inserted = await self.session.scalar(
            insert_or_skip(self.session, VisitPhoto, ["id"]).values(**values).returning(VisitPhoto.id)
        )
        if inserted is None:  # a concurrent twin got there first
            twin = await self.session.get(VisitPhoto, upload.id, populate_existing=True)
            assert twin is not None
            return self._replayed(twin, checkin_id, digest), False
        photo = await self.session.get(VisitPhoto, upload.id)
        assert photo is not None
        return photo, True

    def _replayed(self, stored: VisitPhoto, checkin_id: UUID, digest: str) -> VisitPhoto:
        if stored.checkin_id != checkin_id or stored.upload_sha256 != digest:
            field = "checkin_id" if stored.checkin_id != checkin_id else "photo"
            raise ProblemError(
                409,
                "This photo id was already used for another photo or visit.",
                [{"field": field, "message": "differs from the photo stored under this id"}],
            )
        if stored.deleted_at is not None:  # deleted since: the replay must not bring it back
            raise ProblemError(410, "This photo was deleted.", [{"field": "id", "message": "was deleted"}])
        return stored

    async def _clean(self, data: bytes) -> CleanPhoto:
        settings = self.settings
        try:  # Pillow's decoding is CPU work: off the event loop
            return await asyncio.to_thread(
                clean_photo, data, settings.photo_max_pixels, settings.photo_thumb_px
            )
        except PhotoRejected as rejected:
            raise field_error("photo", rejected.message, rejected.status) from None

    async def _company_of(self, unit_id: UUID | None) -> UUID | None:
        tree = self.session.info.get("evidence.org_tree")
        if tree is None:
            tree = self.session.info["evidence.org_tree"] = await OrgTree.load(self.session)
        return tree.company_of(unit_id)

    async def of_checkin(self, scope: Scope, checkin_id: UUID) -> list[VisitPhoto]:
        """The check-in's photos, oldest first (404 when the check-in is not the caller's to see)."""
        await self.checkin_in_scope(scope, checkin_id)
        rows = await self.session.scalars(
            select(VisitPhoto)
            .where(VisitPhoto.checkin_id == checkin_id, VisitPhoto.deleted_at.is_(None))
            .order_by(VisitPhoto.received_at, VisitPhoto.id)
        )
        return list(rows)

    async def photo_in_scope(self, scope: Scope, photo_id: UUID) -> VisitPhoto:
        photo = await self.session.scalar(
            select(VisitPhoto).where(
                VisitPhoto.id == photo_id,
                VisitPhoto.deleted_at.is_(None),
                scope.user_clause(VisitPhoto.rep_id),
            )
        )
        if photo is None:
            raise not_found("Photo", photo_id, "photo_id")
        return photo

    async def file(self, scope: Scope, photo_id: UUID, thumbnail: bool) -> tuple[VisitPhoto, bytes]:
        """The image (or its thumbnail) bytes of a photo the caller may see."""
        photo = await self.photo_in_scope(scope, photo_id)
        data = await self.store.get(photo.thumb_key if thumbnail else photo.image_key)
        if data is None:
            raise not_found("Photo file", photo_id, "photo_id")
        return photo, data

    async def delete(self, actor: Principal, scope: Scope, photo_id: UUID, reason: str | None) -> VisitPhoto:
        """The rep deletes their own photo within 24 h; a manager or executive (in scope) with a
        reason. Audited; the files go with the next purge-photos run."""
        photo = await self.photo_in_scope(scope, photo_id)
        reason = (reason or "").strip() or None
        now = self.clock.now()
        if actor.is_rep:
            if now - photo.received_at > REP_DELETE_WINDOW:
                raise ProblemError(
                    403,
                    _("A photo can be deleted by its rep within 24 hours; ask your manager."),
                    [{"field": "photo_id", "message": "older than 24 hours"}],
                )
        elif not reason:
            raise field_error("reason", _("is required when a manager deletes a photo"))
        if reason and len(reason) > 500:
            raise field_error("reason", "is longer than 500 characters")
        photo.deleted_at, photo.deleted_by, photo.delete_reason = now, actor.id, reason
        await self.session.flush()
        await self.ctx.get(AuditService).record(
            actor.id,
            "photo.deleted",
            "visit_photos",
            photo.id,
            before={"checkin_id": photo.checkin_id, "customer_id": photo.customer_id, "rep_id": photo.rep_id},
            after={"reason": reason, "deleted_at": now.isoformat()},
        )
        return photo


def _instant(clean: CleanPhoto, timezone: str) -> datetime | None:
    """The EXIF capture time as an instant (a time without offset is the rep's local time)."""
    taken = clean.taken_at
    if taken is None:
        return None
    if taken.tzinfo is None:
        taken = taken.replace(tzinfo=ZoneInfo(timezone))
    return taken.astimezone(UTC)
