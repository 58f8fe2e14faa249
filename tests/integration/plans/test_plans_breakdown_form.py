"""The breakdown form: all three org methods and the time split work from the page, each with a
preview of the children before saving (htmx fragment, or the page itself without JavaScript)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Target, User
from tests.conftest import Demo
from tests.integration.plans.test_plans_pages import sign_in


async def new_team_year(client: AsyncTestClient[Any], csrf: str, team: Any) -> str:
    created = await client.post(
        "/plans/targets/new",
        data={"_csrf_token": csrf, "scope": "org_unit", "scope_id": str(team), "period": "2027",
              "metric": "revenue", "amount": "120000"},
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303, created.text
    return str(created.headers["location"])


async def test_every_method_previews_then_saves_from_the_page(
    client: AsyncTestClient[Any], demo: Demo, session: AsyncSession
) -> None:
    team = demo.units["Shanghai Team 1"]
    csrf = await sign_in(client, "manager1")
    url = await new_team_year(client, csrf, team)
    target_id = url.rsplit("/", 1)[1]
    page = await client.get(f"{url}/breakdown")
    assert page.status_code == 200 and 'hx-post="' + f"{url}/breakdown/preview" in page.text

    reps = (await session.scalars(select(User.id).where(User.org_unit_id == team, User.role == "rep")
                                  .order_by(User.name))).all()  # fmt: skip
    rep1, rep2 = reps
    await session.rollback()
    empty_boxes = {f"share_{rep1}": "", f"share_{rep2}": ""}  # what the page sends for other methods
    for method, shares in (("even", empty_boxes), ("last_period", empty_boxes),
                           ("explicit", {f"share_{rep1}": "75", f"share_{rep2}": "25"})):  # fmt: skip
        body = {"_csrf_token": csrf, "dimension": "org", "method": method, **shares}
        before = (await session.scalars(select(Target.id).where(Target.parent_id == target_id))).all()
        fragment = await client.post(f"{url}/breakdown/preview", data=body, headers={"HX-Request": "true"})
        assert fragment.status_code == 200, (method, fragment.text)
        assert "<html" not in fragment.text and "Rep 1" in fragment.text and "120,000.00" in fragment.text
        if method == "explicit":
            assert "90,000.00" in fragment.text and "30,000.00" in fragment.text
        after = (await session.scalars(select(Target.id).where(Target.parent_id == target_id))).all()
        assert set(after) == set(before), "a preview saves nothing"
        await session.rollback()
        saved = await client.post(f"{url}/breakdown", data=body, follow_redirects=False)
        assert saved.status_code == 303, (method, saved.text[:500])
        children = (await session.scalars(select(Target.amount).where(Target.parent_id == target_id))).all()
        assert sum(children, Decimal(0)) == Decimal("120000.00") and len(children) == 2
        await session.rollback()

    zh = await client.post(
        f"{url}/breakdown/preview",
        data={"_csrf_token": csrf, "dimension": "org", "method": "even"},
        headers={"HX-Request": "true", "Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert zh.status_code == 200 and "预览（尚未保存）" in zh.text and "合计" in zh.text

    bad = {"_csrf_token": csrf, "dimension": "org", "method": "explicit", f"share_{rep1}": "60",
           f"share_{rep2}": "x"}  # fmt: skip
    refused = await client.post(f"{url}/breakdown/preview", data=bad, headers={"HX-Request": "true"})
    assert refused.status_code == 200 and "Every share must be a number" in refused.text

    no_js = await client.post(f"{url}/breakdown/preview",
                              data={"_csrf_token": csrf, "dimension": "time", "granularity": "quarter"})  # fmt: skip
    assert no_js.status_code == 200 and "<html" in no_js.text and "Preview (not saved yet)" in no_js.text
    assert "2027-10-01" in no_js.text
    months = await client.post(f"{url}/breakdown", data={"_csrf_token": csrf, "dimension": "time",
                                                         "granularity": "month"}, follow_redirects=False)  # fmt: skip
    assert months.status_code == 303
    # the reps' months follow the team's months: every month adds up across reps
    rows = (await session.scalars(select(Target).where(Target.scope_id.in_([team, rep1, rep2]),
                                                       Target.granularity == "month",
                                                       Target.period_start >= date(2027, 1, 1)))).all()  # fmt: skip
    by_month: dict[Any, dict[str, Decimal]] = {}
    for row in rows:
        by_month.setdefault(row.period_start, {})["team" if row.scope_id == team else str(row.scope_id)] = (
            row.amount
        )
    for month, cells in by_month.items():
        assert cells["team"] == cells[str(rep1)] + cells[str(rep2)], month
