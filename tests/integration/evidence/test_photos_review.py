"""Photos in review: the customer's history, the manager's rep day, deletion rules and audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import AuditEntry, VisitPhoto
from tests.conftest import Demo, MutableClock, login_session
from tests.integration.checkins.test_checkins_support import API, count_rows
from tests.integration.evidence.photo_support import jpeg, upload, visit_of


async def test_customer_page_and_rep_day_show_the_photos(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    checkin_id, headers, place = await visit_of(client, demo, auth, engine, clock)
    photos = [(await upload(client, headers, checkin_id, jpeg())).json() for _ in range(2)]
    await login_session(client, "manager1")
    history = await client.get(f"/evidence/customers/{place.id}/photos", headers={"HX-Request": "true"})
    assert history.status_code == 200
    for photo in photos:
        assert f'src="/api/v1/photos/{photo["id"]}/thumbnail"' in history.text
    assert "Rep 1" in history.text or "rep1" in history.text.lower()
    rep_day = await client.get(
        f"/evidence/reps/{demo.user('rep1')}/day/photos", params={"date": "2026-11-18"}
    )
    assert rep_day.status_code == 200
    assert f'href="/checkins/{checkin_id}"' in rep_day.text
    assert rep_day.text.count("/thumbnail") == 2
    # The pages that load these fragments point at them.
    page = await client.get(f"/team/reps/{demo.user('rep1')}/day", params={"date": "2026-11-18"})
    assert f'data-photo-fragment="/evidence/reps/{demo.user("rep1")}/day/photos?date=2026-11-18"' in page.text
    customer = await client.get(f"/customers/{place.id}")
    assert f'data-photo-fragment="/evidence/customers/{place.id}/photos"' in customer.text
    # Another team's manager sees neither.
    await login_session(client, "manager2")
    assert (await client.get(f"/evidence/customers/{place.id}/photos")).status_code == 404
    assert (await client.get(f"/evidence/reps/{demo.user('rep1')}/day/photos")).status_code == 404


async def test_rep_deletes_within_24_hours_manager_with_a_reason(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    checkin_id, headers, _place = await visit_of(client, demo, auth, engine, clock)
    first, second, third = [
        (await upload(client, headers, checkin_id, jpeg(), photo_id=None)).json() for _ in range(3)
    ]
    assert (await client.delete(f"/api/v1/photos/{first['id']}", headers=headers)).status_code == 204
    listed = await client.get(f"{API}/{checkin_id}/photos", headers=headers)
    assert sorted(p["id"] for p in listed.json()) == sorted([second["id"], third["id"]])
    assert (await client.get(first["image_url"], headers=headers)).status_code == 404
    async with engine.begin() as connection:  # taken yesterday (tokens would expire if the clock moved)
        await connection.execute(
            update(VisitPhoto)
            .where(VisitPhoto.id == UUID(second["id"]))
            .values(received_at=clock.now() - timedelta(hours=25))
        )
    late = await client.delete(f"/api/v1/photos/{second['id']}", headers=headers)
    assert late.status_code == 403 and "24 hours" in late.json()["detail"]
    manager = await auth("manager1")
    no_reason = await client.request("DELETE", f"/api/v1/photos/{second['id']}", headers=manager)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    outsider = await client.request(
        "DELETE", f"/api/v1/photos/{second['id']}", json={"reason": "x"}, headers=await auth("manager2")
    )
    assert outsider.status_code == 404
    done = await client.request(
        "DELETE",
        f"/api/v1/photos/{second['id']}",
        json={"reason": "A customer's face is visible"},
        headers=manager,
    )
    assert done.status_code == 204, done.text
    async with engine.connect() as connection:
        entries = (await connection.execute(
            select(AuditEntry.actor_id, AuditEntry.entity_id, AuditEntry.after).where(AuditEntry.action == "photo.deleted").order_by(AuditEntry.at)
        )).all()  # fmt: skip
    assert [(e.actor_id, e.entity_id) for e in entries] == [
        (demo.user("rep1"), UUID(first["id"])),
        (demo.user("manager1"), UUID(second["id"])),
    ]
    assert entries[1].after["reason"] == "A customer's face is visible"
    # A replay of a deleted photo's upload does not bring it back.
    assert (
        await count_rows(
            engine, VisitPhoto, VisitPhoto.deleted_at.is_(None), VisitPhoto.checkin_id == UUID(checkin_id)
        )
        == 1
    )
