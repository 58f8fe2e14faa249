"""Visit form screens: the admin's builder, the form on the visit page, the answers on the visit,
on the manager's rep-day view and as a chart on the customer page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import VisitForm, VisitFormVersion
from tests.conftest import Demo, MutableClock, login_session
from tests.integration.checkins.test_checkins_support import API, customers_of
from tests.integration.evidence.test_visit_forms_api import (
    CHECK_IN,
    CHECK_OUT,
    FORMS,
    SHELF,
    _answers,
    _checkout,
    _define,
    _grade,
    _visit,
)

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


async def _sign_in(client: AsyncTestClient[Any], local: str) -> str:
    client.cookies.clear()
    return await login_session(client, local)


def _row(i: int, **values: str) -> dict[str, str]:
    return {f"q-{i}-{name}": value for name, value in values.items()}


async def test_admin_builds_a_form_without_touching_the_database(
    client: AsyncTestClient[Any], demo: Demo, engine: AsyncEngine
) -> None:
    csrf = await _sign_in(client, "admin")
    page = await client.get("/admin/visit-forms/new")
    assert page.status_code == 200 and 'name="q-2-label"' in page.text and 'name="q-3-label"' not in page.text
    assert not INLINE_SCRIPT.search(page.text) and " style=" not in page.text
    more = await client.post("/admin/visit-forms/new", data={"_csrf_token": csrf, "rows": "3", "more": "1"})
    assert 'name="q-5-label"' in more.text
    form = {
        "_csrf_token": csrf,
        "rows": "3",
        "name": "Shelf check",
        "name_zh": "货架检查",
        "grade_A": "on",
        "active": "on",
        **_row(
            0,
            key="shelf_facings",
            kind="number",
            label="Shelf facings",
            label_zh="排面数",
            order="1",
            unit="facings",
            min="0",
            max="3",
            required="on",
        ),
        **_row(
            1,
            key="competitor",
            kind="single_choice",
            label="Main competitor",
            order="2",
            choices="Acme\nGlobex\n",
            choices_zh="艾克米\n环球",
        ),
        **_row(2, key="", label=""),  # a blank row is ignored
    }
    bad = await client.post("/admin/visit-forms/new", data=form | _row(0, min="5"))
    assert bad.status_code == 422
    assert re.search(r'id="f-q-0-max-error">must not be below min<', bad.text)
    assert 'value="Shelf facings"' in bad.text  # what was typed stays
    bad_key = await client.post("/admin/visit-forms/new", data=form | _row(1, key="Main Competitor"))
    assert bad_key.status_code == 422 and 'id="f-q-1-key-error"' in bad_key.text
    saved = await client.post("/admin/visit-forms/new", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    async with engine.connect() as connection:
        stored = (await connection.execute(select(VisitForm))).one()
        fields = await connection.scalar(select(VisitFormVersion.fields))
    assert stored.name_zh == "货架检查" and stored.grades == ["A"] and stored.statuses == []
    assert fields[0] == {
        "key": "shelf_facings",
        "kind": "number",
        "label": "Shelf facings",
        "label_zh": "排面数",
        "required": True,
        "order": 1,
        "unit": "facings",
        "min": 0,
        "max": 3,
    }
    assert fields[1]["choices"] == ["Acme", "Globex"] and fields[1]["choices_zh"] == ["艾克米", "环球"]
    edit = await client.get(saved.headers["location"])
    assert 'value="shelf_facings"' in edit.text and "Acme\nGlobex</textarea>" in edit.text
    # Removing a question makes version 2.
    changed = await client.post(
        saved.headers["location"], data=form | {"q-1-remove": "on"}, follow_redirects=False
    )
    assert changed.status_code == 303
    listing = await client.get("/admin/visit-forms")
    assert "Shelf check" in listing.text and "Version 2" in listing.text
    await _sign_in(client, "manager1")
    assert (await client.get("/admin/visit-forms/new")).status_code == 403


async def test_the_visit_page_shows_the_form_and_then_the_answers(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=1))
    form = await _define(client, auth)
    await _define(
        client,
        auth,
        {
            "name": "Prospect form",
            "statuses": ["prospect"],
            "fields": [{"key": "interested", "kind": "yes_no", "label": "Interested"}],
        },
    )
    rep1 = demo.user("rep1")
    [place] = await customers_of(engine, rep1)
    await _grade(engine, place.id, "A")
    await _sign_in(client, "rep1")
    page = (await client.get("/checkins/new", params={"customer_id": str(place.id)})).text
    assert f'data-form-id="{form["id"]}"' in page and "Prospect form" not in page
    for name in ("shelf_facings", "promo_visible", "competitor", "issues", "remarks", "shelf_photo"):
        assert f'name="answers.{name}"' in page and f'data-error-for="answers.{name}"' in page
    assert re.search(r'<script src="/static/js/visitforms\.js\?v=\w+" defer>', page)
    assert not INLINE_SCRIPT.search(page)
    shell = (await client.get("/checkins/shell")).text  # offline, any stop: every form, narrowed on the phone
    assert (
        f'data-form-id="{form["id"]}"' in shell and "Prospect form" in shell and 'data-grades="A B"' in shell
    )

    headers = await auth("rep1")
    checkin_id = await _visit(client, headers, place)
    visit = (await client.get(f"/checkins/{checkin_id}")).text
    assert 'name="answers.shelf_facings"' in visit
    done = await client.post(
        f"{API}/{checkin_id}/checkout", json=_checkout([_answers(form)]), headers=headers
    )
    assert done.status_code == 200, done.text
    shown = (await client.get(f"/checkins/{checkin_id}")).text
    assert 'name="answers.shelf_facings"' not in shown
    assert re.search(r'data-answer="shelf_facings">12 facings<', shown)
    assert re.search(r'data-answer="promo_visible">Yes<', shown)
    assert re.search(r'data-answer="shelf_photo">1 photo<', shown)

    await _sign_in(client, "manager1")
    day = CHECK_IN.date().isoformat()
    rep_day = await client.get(f"/team/reps/{rep1}/day?date={day}")
    assert rep_day.status_code == 200 and f'data-visit-answers-of="{checkin_id}"' in rep_day.text
    assert 'data-answer="competitor">Acme<' in rep_day.text
    other_day = await client.get(f"/team/reps/{rep1}/day?date=2026-11-17")
    assert other_day.status_code == 200 and "data-rep-day-answers" not in other_day.text
    customer_page = await client.get(f"/customers/{place.id}")
    assert re.search(r'data-point="shelf_facings">12<', customer_page.text)
    assert 'id="form-chart-0" role="img"' in customer_page.text
    await _sign_in(client, "manager2")
    assert (await client.get(f"/team/reps/{rep1}/day?date={day}")).status_code == 404
    assert (await client.get(f"/customers/{place.id}")).status_code == 404


async def test_the_form_in_chinese(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine
) -> None:
    await _define(client, auth, SHELF | {"grades": []})
    [place] = await customers_of(engine, demo.user("rep1"))
    await _sign_in(client, "rep1")
    page = await client.get(
        "/checkins/new", params={"customer_id": str(place.id)}, headers={"Accept-Language": "zh-CN"}
    )
    assert "货架检查" in page.text and "排面数" in page.text and "艾克米" in page.text
    assert (await client.get(FORMS, headers=await auth("rep1"))).json()[0]["name_zh"] == "货架检查"
