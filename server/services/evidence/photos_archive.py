"""Photo files in `fieldsales export` / `import-all` archives: `files/<key>` beside the tables.

The visit_photos rows travel with the other tables; these helpers carry the files their keys
name (photos whose files were purged have none) and put them back into the target's store.
"""

from __future__ import annotations

import io
import tarfile

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import VisitPhoto
from server.services.evidence.storage import BlobStore

PREFIX = "files/"


async def add_photo_files(engine: AsyncEngine, archive: tarfile.TarFile, store: BlobStore) -> int:
    """Add every kept photo's image and thumbnail to `archive`; how many files."""
    count = 0
    async with engine.connect() as connection:
        rows = await connection.stream(
            select(VisitPhoto.image_key, VisitPhoto.thumb_key)
            .where(VisitPhoto.files_purged_at.is_(None))
            .order_by(VisitPhoto.id)
        )
        async for image_key, thumb_key in rows:
            for key in (image_key, thumb_key):
                data = await store.get(key)
                if data is None:  # a row whose file is gone: the restore will answer 404 for it too
                    continue
                info = tarfile.TarInfo(PREFIX + key)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
                count += 1
    return count


async def restore_photo_files(archive: tarfile.TarFile, store: BlobStore) -> int:
    """Put every `files/` member of `archive` into `store`; how many files."""
    count = 0
    for member in archive.getmembers():
        if not member.isfile() or not member.name.startswith(PREFIX):
            continue
        handle = archive.extractfile(member)
        if handle is None:
            continue
        content_type = "image/jpeg" if member.name.endswith(".jpg") else "application/octet-stream"
        await store.put(member.name.removeprefix(PREFIX), handle.read(), content_type)
        count += 1
    return count
