"""Photo housekeeping: company retention, files removed with deleted photos, export/import."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from server.config import Settings
from server.db.migrate import upgrade
from server.db.models import OrgSettings, OrgUnit, VisitPhoto
from server.jobs.registry import run_job
from server.services.admin.backup import export_archive, import_archive
from server.services.evidence.storage import DirectoryStore
from tests.conftest import Demo, MutableClock
from tests.integration.evidence.photo_support import jpeg, png, stored_files, upload, visit_of


async def _company_of_rep1(engine: AsyncEngine, demo: Demo) -> UUID:
    unit: UUID | None = demo.units["Shanghai Team 1"]
    async with engine.connect() as connection:
        while True:
            parent = await connection.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == unit))
            if parent is None:
                assert unit is not None
                return unit
            unit = parent


async def test_retention_deletes_old_photos_and_their_files(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
    clock: MutableClock,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    evidence_root: Path,
) -> None:
    checkin_id, headers, _place = await visit_of(client, demo, auth, engine, clock)
    old, recent = [(await upload(client, headers, checkin_id, jpeg())).json() for _ in range(2)]
    company = await _company_of_rep1(engine, demo)
    async with engine.begin() as connection:
        await connection.execute(
            update(VisitPhoto)
            .where(VisitPhoto.id == UUID(old["id"]))
            .values(received_at=clock.now() - timedelta(days=31))
        )
    assert len(stored_files(evidence_root, old["id"])) == 2
    # Keep forever by default: nothing happens.
    result = await run_job("purge-photos", sessionmaker, settings, clock.now())
    assert result == {"expired": 0, "files_purged": 0}
    async with engine.begin() as connection:
        await connection.execute(
            update(OrgSettings).where(OrgSettings.company_id == company).values(photo_retention_days=30)
        )
    result = await run_job("purge-photos", sessionmaker, settings, clock.now() + timedelta(hours=1))
    assert result == {"expired": 1, "files_purged": 1}
    assert stored_files(evidence_root, old["id"]) == []
    assert len(stored_files(evidence_root, recent["id"])) == 2
    async with engine.connect() as connection:
        row = (await connection.execute(select(VisitPhoto).where(VisitPhoto.id == UUID(old["id"])))).one()
    assert (row.delete_reason, row.lat, row.lng) == ("retention", None, None)
    assert row.files_purged_at is not None
    assert (await client.get(old["image_url"], headers=headers)).status_code == 404
    assert (await client.get(recent["image_url"], headers=headers)).status_code == 200
    # A photo the rep deleted loses its files on the next run; a second run has nothing to do.
    assert (await client.delete(f"/api/v1/photos/{recent['id']}", headers=headers)).status_code == 204
    assert len(stored_files(evidence_root, recent["id"])) == 2  # until the job runs
    result = await run_job("purge-photos", sessionmaker, settings, clock.now() + timedelta(hours=2))
    assert result == {"expired": 0, "files_purged": 1}
    assert stored_files(evidence_root, recent["id"]) == []
    result = await run_job("purge-photos", sessionmaker, settings, clock.now() + timedelta(hours=3))
    assert result == {"expired": 0, "files_purged": 0}


async def test_export_and_import_all_carry_the_photos(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
    clock: MutableClock,
    settings: Settings,
    tmp_path: Path,
) -> None:
    checkin_id, headers, _place = await visit_of(client, demo, auth, engine, clock)
    photos = [(await upload(client, headers, checkin_id, data)).json() for data in (jpeg(), png())]
    source = DirectoryStore(settings.evidence_path)
    archive = tmp_path / "export.tar.gz"
    manifest = await export_archive(engine, archive, clock, store=source)
    assert manifest["tables"]["visit_photos"] >= 2 and manifest["files"] >= 4
    target_store = DirectoryStore(tmp_path / "restored-files")
    target = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}")
    try:
        await upgrade(target)
        restored = await import_archive(target, archive, store=target_store)
        assert restored["visit_photos"] == manifest["tables"]["visit_photos"]
        assert restored["files"] == manifest["files"]
        async with target.connect() as connection:
            keys = (await connection.execute(
                select(VisitPhoto.image_key, VisitPhoto.thumb_key).where(VisitPhoto.checkin_id == UUID(checkin_id))
            )).all()  # fmt: skip
    finally:
        await target.dispose()
    assert len(keys) == 2
    for image_key, thumb_key in keys:
        assert await target_store.get(image_key) == await source.get(image_key)
        assert await target_store.get(thumb_key) == await source.get(thumb_key)
    assert {p["content_type"] for p in photos} == {"image/jpeg", "image/png"}
