"""The planner's effort split and deal rules are company settings: validated as a whole, shown
in percent on the page, stored as fractions (docs/settings.md)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import OrgSettings
from tests.conftest import Demo, login_session


async def test_effort_split_is_validated_and_stored(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    admin = await auth("admin")
    read = await client.get("/api/v1/settings", headers=admin)
    assert read.status_code == 200
    assert [read.json()[k] for k in ("effort_a", "effort_b", "effort_c", "effort_prospect")] == [
        "0.4000", "0.3000", "0.2000", "0.1000"]  # fmt: skip
    assert (read.json()["deal_close_days"], read.json()["deal_stale_days"]) == (14, 21)
    too_much = await client.patch("/api/v1/settings", headers=admin, json={"effort_a": "0.6"})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "effort_a"
    negative = await client.patch(
        "/api/v1/settings", headers=admin, json={"effort_c": "-0.1", "deal_stale_days": 0}
    )
    assert negative.status_code == 422
    assert {e["field"] for e in negative.json()["errors"]} == {"effort_c", "deal_stale_days"}
    good = await client.patch("/api/v1/settings", headers=admin, json={
        "effort_a": "0.5", "effort_b": "0.25", "effort_c": "0.15", "deal_stale_days": 10})  # fmt: skip
    assert good.status_code == 200 and good.json()["effort_a"] == "0.5000"
    row = await session.scalar(select(OrgSettings).where(OrgSettings.company_id == demo.company_id))
    assert row is not None and row.effort_a == Decimal("0.5") and row.deal_stale_days == 10


async def test_the_settings_page_edits_the_split_in_percent(client: AsyncTestClient[Any], demo: Demo) -> None:
    await login_session(client, "admin")
    page = await client.get("/admin/settings")
    assert page.status_code == 200 and 'name="effort_a"' in page.text and 'value="40"' in page.text
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    bad = await client.post("/admin/settings", data={"_csrf_token": csrf, "effort_a": "70", "effort_b": "40"})
    assert bad.status_code == 422 and 'id="f-effort_a-error"' in bad.text
    ok = await client.post("/admin/settings", data={"_csrf_token": csrf, "effort_a": "35", "effort_b": "35"},
                           follow_redirects=True)  # fmt: skip
    assert ok.status_code == 200 and 'value="35"' in ok.text
