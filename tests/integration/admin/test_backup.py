"""Full export and restore: every row comes back, across engines, and restores refuse to merge."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.db.migrate import upgrade
from server.db.models import Order, OrgUnit, Target, rep_day_actuals
from server.services.admin.backup import RestoreError, export_archive, import_archive
from tests.conftest import Demo, MutableClock


async def _fingerprint(engine: AsyncEngine) -> tuple[object, ...]:
    async with engine.connect() as connection:
        orders = (await connection.execute(select(func.count(), func.sum(Order.amount)))).one()
        units_with_parent = await connection.scalar(
            select(func.count()).where(OrgUnit.parent_id.is_not(None))
        )
        child_targets = await connection.scalar(select(func.count()).where(Target.parent_id.is_not(None)))
        return (orders[0], orders[1], units_with_parent, child_targets)


async def _rollup(engine: AsyncEngine) -> dict[tuple[object, object], tuple[object, ...]]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(rep_day_actuals))
        return {(r.rep_id, r.day): (r.revenue, r.orders, r.visits) for r in rows if r.orders or r.visits}


async def test_export_then_import_restores_every_row(
    engine: AsyncEngine, demo: Demo, tmp_path: Path, clock: MutableClock
) -> None:
    archive = tmp_path / "export.tar.gz"
    manifest = await export_archive(engine, archive, clock)
    assert manifest["tables"]["orders"] > 0 and manifest["format_version"] == 1
    assert manifest["exported_at"] == clock.now().isoformat()  # the clock, not wall time

    target = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}")
    try:
        await upgrade(target)
        restored = await import_archive(target, archive)
        assert restored == manifest["tables"]
        assert await _fingerprint(target) == await _fingerprint(engine)
        # The trigger-kept rollup is not archived: the restore rebuilt it, counting each row once.
        assert manifest["tables"].get("rep_day_actuals") is None
        assert await _rollup(target) == await _rollup(engine) != {}
        with pytest.raises(RestoreError, match="not empty"):
            await import_archive(target, archive)
    finally:
        await target.dispose()
