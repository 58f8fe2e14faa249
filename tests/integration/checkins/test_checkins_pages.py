"""The phone pages: check in at a customer, the visit with its outcome form, signed in by cookie."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Demo, MutableClock, login_session
from tests.integration.checkins.test_checkins_support import API, add_task, checkin_body, customers_of

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


async def _sign_in(client: AsyncTestClient[Any], local: str) -> str:
    client.cookies.clear()  # a new user, not a second login inside the first one's session
    return await login_session(client, local)


def _csp_clean(html: str) -> None:
    assert not INLINE_SCRIPT.search(html), "the CSP forbids inline scripts"
    assert " style=" not in html and "<style" not in html, "the CSP forbids inline styles"


async def test_check_in_page_for_a_customer(
    client: AsyncTestClient[Any], demo: Demo, engine: AsyncEngine, clock: MutableClock
) -> None:
    await _sign_in(client, "rep1")
    place, other = await customers_of(engine, demo.user("rep1"), 2)
    task_id = await add_task(engine, demo.user("rep1"), place.id, clock.now().date())
    page = await client.get("/checkins/new", params={"customer_id": str(place.id), "task_id": str(task_id)})
    assert page.status_code == 200, page.text
    html = page.text
    assert "Check in here" in html and "Check in without location" in html
    assert f'data-customer-id="{place.id}"' in html and f'data-task-id="{task_id}"' in html
    assert re.search(r'<script src="/static/checkin\.js\?v=\w+" defer>', html)
    assert 'inputmode="decimal"' in html and 'name="next_step_due"' in html
    for outcome in ("order", "follow_up", "no_decision", "not_available", "lost"):
        assert f'value="{outcome}"' in html
    _csp_clean(html)
    fragment = await client.get(
        "/checkins/new", params={"customer_id": str(place.id)}, headers={"HX-Request": "true"}
    )
    assert "<html" not in fragment.text and "Check in here" in fragment.text
    wrong_task = await client.get(
        "/checkins/new", params={"customer_id": str(other.id), "task_id": str(task_id)}
    )
    assert wrong_task.status_code == 422


async def test_check_in_page_refuses_what_the_rep_cannot_see(
    client: AsyncTestClient[Any], demo: Demo, engine: AsyncEngine
) -> None:
    [rep2_place] = await customers_of(engine, demo.user("rep2"))
    await _sign_in(client, "rep1")
    assert (await client.get("/checkins/new", params={"customer_id": str(rep2_place.id)})).status_code == 404
    assert (await client.get("/checkins/new", params={"customer_id": str(uuid4())})).status_code == 404
    assert (await client.get("/checkins/new")).status_code == 400
    assert (await client.get("/checkins/new", params={"customer_id": "nope"})).status_code == 400
    await _sign_in(client, "manager1")
    assert (await client.get("/checkins/new", params={"customer_id": str(rep2_place.id)})).status_code == 403


async def test_visit_page_through_a_cookie_session(
    client: AsyncTestClient[Any], demo: Demo, engine: AsyncEngine, clock: MutableClock
) -> None:
    csrf = await _sign_in(client, "rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    body = checkin_body(place, clock.now())
    assert (await client.post(API, json=body)).status_code == 403, "a cookie session needs the CSRF header"
    created = await client.post(API, json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    visit = await client.get(f"/checkins/{body['id']}")
    assert visit.status_code == 200
    assert f'data-checkin-id="{body["id"]}"' in visit.text and "data-checkout-form" in visit.text
    assert 'min="2026-11-18"' in visit.text, "the next step cannot be due before the visit (Shanghai date)"
    assert "At the customer" in visit.text and "10 m from the customer" in visit.text
    _csp_clean(visit.text)

    checkout = {"checked_out_at": clock.now().isoformat(), "outcome": "order", "order_amount": "980.5"}
    done = await client.post(f"{API}/{body['id']}/checkout", json=checkout, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200
    after = await client.get(f"/checkins/{body['id']}")
    assert "data-checkout-form" not in after.text and "$980.50" in after.text

    await _sign_in(client, "manager1")
    manager_view = await client.get(f"/checkins/{body['id']}")
    assert manager_view.status_code == 200 and "data-checkout-form" not in manager_view.text
    await _sign_in(client, "manager2")
    assert (await client.get(f"/checkins/{body['id']}")).status_code == 404
    assert (await client.get("/checkins/not-an-id")).status_code == 400


async def test_pages_need_a_session(client: AsyncTestClient[Any], demo: Demo, engine: AsyncEngine) -> None:
    [place] = await customers_of(engine, demo.user("rep1"))
    page = await client.get("/checkins/new", params={"customer_id": str(place.id)}, follow_redirects=False)
    assert page.status_code in (302, 303, 307) and page.headers["location"].startswith("/login")
