"""`fieldsales export` / `import-all` carry visit forms, their versions and the answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.db.migrate import upgrade
from server.db.models import VisitForm, VisitFormAnswer, VisitFormVersion
from server.services.admin.backup import export_archive, import_archive
from tests.conftest import Demo, MutableClock
from tests.integration.checkins.test_checkins_support import API, customers_of
from tests.integration.evidence.test_visit_forms_api import (
    CHECK_OUT,
    _answers,
    _checkout,
    _define,
    _grade,
    _visit,
)


async def _forms(engine: AsyncEngine) -> tuple[Any, ...]:
    async with engine.connect() as connection:
        forms = (await connection.execute(select(VisitForm.name, VisitForm.version, VisitForm.grades))).all()
        versions = (await connection.execute(select(VisitFormVersion.version, VisitFormVersion.fields))).all()
        answers = (await connection.execute(select(VisitFormAnswer.checkin_id, VisitFormAnswer.values))).all()
    return sorted(map(tuple, forms)), sorted(map(tuple, versions)), sorted(map(tuple, answers), key=str)


async def test_forms_and_answers_survive_export_and_import(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
    clock: MutableClock,
    tmp_path: Path,
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=1))
    form = await _define(client, auth)
    [place] = await customers_of(engine, demo.user("rep1"))
    await _grade(engine, place.id, "A")
    headers = await auth("rep1")
    checkin_id = await _visit(client, headers, place)
    done = await client.post(
        f"{API}/{checkin_id}/checkout", json=_checkout([_answers(form)]), headers=headers
    )
    assert done.status_code == 200, done.text

    archive = tmp_path / "export.tar.gz"
    manifest = await export_archive(engine, archive, clock)
    assert manifest["tables"]["visit_forms"] == 1 and manifest["tables"]["visit_form_answers"] == 1
    target = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}")
    try:
        await upgrade(target)
        await import_archive(target, archive)
        restored = await _forms(target)
        assert restored == await _forms(engine)
        assert restored[2][0][1]["shelf_facings"] == 12
    finally:
        await target.dispose()
