"""Customer pages: scoped list with htmx row refresh, detail with the grade explained, override form."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.services import Services
from server.db.models import Customer, GradeChange
from server.services.customers.grading import GradingService
from tests.conftest import Demo, MutableClock, login_session


@pytest.fixture
async def graded(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo, clock: MutableClock
) -> Demo:
    async with sessionmaker() as session:
        await Services(session, settings, Clock(fixed=clock.now())).get(GradingService).regrade_all()
        await session.commit()
    return demo


async def customers_of(
    sessionmaker: async_sessionmaker[AsyncSession], demo: Demo, local: str
) -> list[Customer]:
    async with sessionmaker() as session:
        stmt = select(Customer).where(Customer.owner_rep_id == demo.user(local)).order_by(Customer.name)
        return list((await session.scalars(stmt)).all())


def linked_ids(html: str) -> set[str]:
    return set(re.findall(r'href="/customers/([0-9a-f-]{36})"', html))


async def test_reps_see_their_own_customers_and_htmx_gets_just_the_rows(
    client: AsyncTestClient[Any], graded: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    mine = await customers_of(sessionmaker, graded, "rep1")
    theirs = await customers_of(sessionmaker, graded, "rep2")
    await login_session(client, "rep1")
    page = await client.get("/customers?sort=-revenue")
    assert page.status_code == 200 and "<html" in page.text and 'name="q"' in page.text
    assert 'name="owner_rep_id"' not in page.text  # a rep has no owner filter
    shown = linked_ids(page.text)
    assert shown and shown <= {str(c.id) for c in mine} and not shown & {str(c.id) for c in theirs}
    assert f"{len(mine)} customers" in page.text

    rows = await client.get("/customers?grade=A", headers={"HX-Request": "true"})
    assert rows.status_code == 200 and "<html" not in rows.text and "<table" in rows.text
    assert linked_ids(rows.text) == {str(c.id) for c in mine if c.grade == "A"}
    assert 'href="/api/v1/customers?grade=A&amp;format=csv"' in rows.text

    search = await client.get(f"/customers?q={mine[0].name}", headers={"HX-Request": "true"})
    assert linked_ids(search.text) == {str(mine[0].id)}
    # A hand-edited query string falls back to defaults instead of failing.
    assert (await client.get("/customers?grade=Z&page=x&sort=nope&owner_rep_id=1")).status_code == 200


async def test_list_pages_through_results(client: AsyncTestClient[Any], graded: Demo) -> None:
    await login_session(client, "exec")
    first = await client.get("/customers", headers={"HX-Request": "true"})
    second = await client.get("/customers?page=2", headers={"HX-Request": "true"})
    assert "Page 1 of 7" in first.text and "Page 2 of 7" in second.text  # 160 customers, 25 a page
    assert len(linked_ids(first.text)) == len(linked_ids(second.text)) == 25
    assert not linked_ids(first.text) & linked_ids(second.text)
    assert 'hx-get="/customers?page=2"' in first.text


async def test_detail_page_is_scoped_and_explains_the_grade(
    client: AsyncTestClient[Any], graded: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    mine = (await customers_of(sessionmaker, graded, "rep1"))[0]
    theirs = (await customers_of(sessionmaker, graded, "rep2"))[0]
    await login_session(client, "rep1")
    page = await client.get(f"/customers/{mine.id}")
    assert page.status_code == 200 and "Why this grade" in page.text and mine.name in page.text
    assert "Override the grade" not in page.text  # reps cannot override
    assert (await client.get(f"/customers/{theirs.id}")).status_code == 404
    assert (
        await client.post(f"/customers/{mine.id}/override", data={"grade_override": "A"})
    ).status_code == 403


async def test_manager_overrides_through_the_form_with_errors_next_to_fields(
    client: AsyncTestClient[Any], graded: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    customer = (await customers_of(sessionmaker, graded, "rep1"))[0]
    outsider = (await customers_of(sessionmaker, graded, "rep2"))[0]
    token = await login_session(client, "manager1")
    page = await client.get(f"/customers/{customer.id}")
    assert "Override the grade" in page.text and 'name="_csrf_token"' in page.text

    url = f"/customers/{customer.id}/override"
    no_csrf = await client.post(url, data={"grade_override": "A", "reason": "x"})
    assert no_csrf.status_code == 403
    past = await client.post(
        url, data={"_csrf_token": token, "grade_override": "A", "reason": "x", "until": "2026-01-01"}
    )
    assert past.status_code == 422 and 'id="f-until-error"' in past.text and "must be today" in past.text
    no_reason = await client.post(url, data={"_csrf_token": token, "grade_override": "A", "reason": ""})
    assert no_reason.status_code == 422 and 'id="f-reason-error"' in no_reason.text
    bad_grade = await client.post(url, data={"_csrf_token": token, "grade_override": "Q", "reason": "x"})
    assert bad_grade.status_code == 422 and 'id="f-grade_override-error"' in bad_grade.text
    blocked = await client.post(
        f"/customers/{outsider.id}/override",
        data={"_csrf_token": token, "grade_override": "A", "reason": "x"},
    )
    assert blocked.status_code == 404

    saved = await client.post(
        url,
        data={
            "_csrf_token": token,
            "grade_override": "A",
            "reason": "New flagship store",
            "until": "2026-12-31",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"/customers/{customer.id}"
    after = await client.get(f"/customers/{customer.id}")
    assert "Grade override saved." in after.text and "New flagship store" in after.text
    async with sessionmaker() as session:
        stored = await session.get(Customer, customer.id)
        history = (await session.scalars(select(GradeChange).where(GradeChange.source == "override"))).all()
    assert stored is not None and (stored.grade, stored.grade_override) == ("A", "A")
    assert [h.customer_id for h in history] == [customer.id]
