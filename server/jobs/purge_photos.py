"""Hourly: photos past their company's retention are deleted, and deleted photos' files removed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.core.services import Services
from server.jobs.registry import job
from server.services.evidence.photos_purge import PhotoPurgeService


@job("purge-photos", every_seconds=3600)
async def purge_photos(services: Services, at: datetime) -> dict[str, Any]:
    """Apply photo retention and remove the files of deleted photos."""
    purge = services.get(PhotoPurgeService)
    expired = await purge.expire(at)
    return {"expired": expired, "files_purged": await purge.purge_files(at)}
