"""Visit forms over the API: define, assign, answers enforced at check-out, replayed once, scoped,
exported as CSV (issue 24)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from server.db.models import Customer, OrgUnit, VisitForm, VisitFormAnswer, VisitFormVersion
from tests.conftest import Demo, MutableClock
from tests.integration.checkins.test_checkins_support import (
    API,
    Place,
    checkin_body,
    count_rows,
    customers_of,
)

FORMS = "/api/v1/visit-forms"
CHECK_IN = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CHECK_OUT = CHECK_IN + timedelta(minutes=20)

SHELF = {
    "name": "Shelf check",
    "name_zh": "货架检查",
    "grades": ["A", "B"],
    "fields": [
        {
            "key": "shelf_facings",
            "kind": "number",
            "label": "Shelf facings",
            "label_zh": "排面数",
            "required": True,
            "order": 1,
            "unit": "facings",
            "min": 0,
            "max": 50,
        },
        {
            "key": "promo_visible",
            "kind": "yes_no",
            "label": "Promotion visible",
            "required": True,
            "order": 2,
        },
        {
            "key": "competitor",
            "kind": "single_choice",
            "label": "Main competitor",
            "order": 3,
            "choices": ["Acme", "Globex"],
            "choices_zh": ["艾克米", "环球"],
        },
        {
            "key": "issues",
            "kind": "multi_choice",
            "label": "Issues",
            "order": 4,
            "choices": ["dusty", "out of stock", "wrong price"],
        },
        {"key": "remarks", "kind": "text", "label": "Remarks", "order": 5},
        {"key": "shelf_photo", "kind": "photo", "label": "Shelf photo", "required": True, "order": 6},
    ],
}


async def _grade(engine: AsyncEngine, customer_id: UUID, grade: str, status: str = "active") -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(Customer).where(Customer.id == customer_id).values(grade=grade, status=status)
        )


async def _define(client: AsyncTestClient[Any], auth: Any, body: dict[str, Any] = SHELF) -> dict[str, Any]:
    response = await client.post(FORMS, json=body, headers=await auth("admin"))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _visit(client: AsyncTestClient[Any], headers: dict[str, str], place: Place) -> str:
    response = await client.post(API, json=checkin_body(place, CHECK_IN), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _checkout(answers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"checked_out_at": CHECK_OUT.isoformat(), "outcome": "follow_up"}
    return body | ({"answers": answers} if answers is not None else {})


def _answers(form: dict[str, Any], **values: Any) -> dict[str, Any]:
    filled = {"shelf_facings": 12, "promo_visible": True, "competitor": "Acme", "issues": ["dusty"]}
    return {"form_id": form["id"], "version": form["version"], "values": filled | values, "photo_count": 1}


async def test_define_read_and_version_a_form(client: AsyncTestClient[Any], demo: Demo, auth: Any) -> None:
    form = await _define(client, auth)
    assert form["version"] == 1 and form["grades"] == ["A", "B"]
    assert [f["key"] for f in form["fields"]][:2] == ["shelf_facings", "promo_visible"]
    listed = (await client.get(FORMS, headers=await auth("rep1"))).json()
    assert [f["id"] for f in listed] == [form["id"]]
    # Renaming does not make a version; changing the questions does, and version 1 stays readable.
    renamed = await client.patch(f"{FORMS}/{form['id']}", json={"name": "Shelf"}, headers=await auth("admin"))
    assert renamed.json()["version"] == 1 and renamed.json()["name"] == "Shelf"
    fields = [*SHELF["fields"][:2]]
    changed = await client.patch(
        f"{FORMS}/{form['id']}", json={"fields": fields}, headers=await auth("admin")
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and len(changed.json()["fields"]) == 2
    old = await client.get(f"{FORMS}/{form['id']}?version=1", headers=await auth("rep1"))
    assert len(old.json()["fields"]) == 6


async def test_only_admins_define_and_bad_definitions_name_the_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    assert (await client.post(FORMS, json=SHELF, headers=await auth("manager1"))).status_code == 403
    bad = {
        **SHELF,
        "fields": [
            {"key": "n", "kind": "number", "label": "N", "min": 5, "max": 1},
            {"key": "c", "kind": "single_choice", "label": "C", "choices": ["only"]},
            {"key": "n", "kind": "text", "label": "Again", "unit": "kg"},
        ],
    }
    response = await client.post(FORMS, json=bad, headers=await auth("admin"))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"fields[0].max", "fields[1].choices", "fields[2].key", "fields[2].unit"}
    wrong_grade = await client.post(FORMS, json={**SHELF, "grades": ["Z"]}, headers=await auth("admin"))
    assert wrong_grade.status_code == 422 and wrong_grade.json()["errors"][0]["field"] == "grades"


async def test_required_answers_block_check_out_and_are_stored_once(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=1))
    form = await _define(client, auth)
    rep1 = demo.user("rep1")
    headers = await auth("rep1")
    [place] = await customers_of(engine, rep1)
    await _grade(engine, place.id, "A")
    checkin_id = await _visit(client, headers, place)
    url = f"{API}/{checkin_id}/checkout"

    missing = await client.post(url, json=_checkout(), headers=headers)
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {
        "answers.shelf_facings",
        "answers.promo_visible",
        "answers.shelf_photo",
    }
    out_of_range = await client.post(url, json=_checkout([_answers(form, shelf_facings=80)]), headers=headers)
    assert out_of_range.status_code == 422
    assert out_of_range.json()["errors"] == [
        {"field": "answers.shelf_facings", "message": "must be at most 50"}
    ]
    no_photo = await client.post(url, json=_checkout([_answers(form) | {"photo_count": 0}]), headers=headers)
    assert [e["field"] for e in no_photo.json()["errors"]] == ["answers.shelf_photo"]
    assert await count_rows(engine, VisitFormAnswer) == 0

    body = _checkout([_answers(form, remarks="  Clean shelf ")])
    first = await client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    replay = await client.post(url, json=body, headers=headers)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert await count_rows(engine, VisitFormAnswer) == 1

    record = (await client.get(f"{API}/{checkin_id}", headers=headers)).json()
    [answers] = record["answers"]
    assert answers["form_id"] == form["id"] and answers["version"] == 1
    assert answers["values"] == {
        "shelf_facings": 12,
        "promo_visible": True,
        "competitor": "Acme",
        "issues": ["dusty"],
        "remarks": "Clean shelf",
    }
    assert answers["photo_count"] == 1
    # A different body under the same check-out is a conflict, not a second set of answers.
    other = await client.post(url, json=_checkout([_answers(form, shelf_facings=3)]), headers=headers)
    assert other.status_code == 409 and "answers" in other.json()["conflicting_fields"]
    assert await count_rows(engine, VisitFormAnswer) == 1


async def test_forms_follow_grade_and_status(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=1))
    await _define(client, auth)  # grades A and B
    await _define(
        client,
        auth,
        {
            "name": "Prospects",
            "statuses": ["prospect"],
            "fields": [{"key": "interested", "kind": "yes_no", "label": "Interested", "required": True}],
        },
    )
    rep1 = demo.user("rep1")
    headers = await auth("rep1")
    place_c, place_p = await customers_of(engine, rep1, 2)
    await _grade(engine, place_c.id, "C")
    await _grade(engine, place_p.id, "C", "prospect")
    # A grade C active customer has no form: check-out needs no answers.
    plain = await client.post(
        f"{API}/{await _visit(client, headers, place_c)}/checkout", json=_checkout(), headers=headers
    )
    assert plain.status_code == 200, plain.text
    prospect = await client.post(
        f"{API}/{await _visit(client, headers, place_p)}/checkout", json=_checkout(), headers=headers
    )
    assert [e["field"] for e in prospect.json()["errors"]] == ["answers.interested"]


async def test_answers_are_scoped_and_exported_as_csv(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=1))
    form = await _define(client, auth)
    rep1 = demo.user("rep1")
    headers = await auth("rep1")
    [place] = await customers_of(engine, rep1)
    await _grade(engine, place.id, "B")
    checkin_id = await _visit(client, headers, place)
    done = await client.post(
        f"{API}/{checkin_id}/checkout", json=_checkout([_answers(form, competitor="Globex")]), headers=headers
    )
    assert done.status_code == 200, done.text

    # Another team's manager sees neither the visit nor its answers.
    assert (await client.get(f"{API}/{checkin_id}", headers=await auth("manager2"))).status_code == 404
    mine = await client.get(f"{API}/{checkin_id}", headers=await auth("manager1"))
    assert mine.json()["answers"][0]["values"]["competitor"] == "Globex"

    period = "from=2026-11-01&to=2026-11-30"
    team1 = demo.units[next(n for n in demo.units if n.endswith("Team 1") and "Shanghai" in n)]
    export = await client.get(
        f"{FORMS}/{form['id']}/answers?{period}&org_unit_id={team1}&format=csv",
        headers=await auth("manager1"),
    )
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert len(rows) == 1
    assert rows[0]["checkin_id"] == checkin_id and rows[0]["visit_date"] == "2026-11-18"
    assert rows[0]["shelf_facings"] == "12" and rows[0]["promo_visible"] == "yes"
    assert rows[0]["competitor"] == "Globex" and rows[0]["issues"] == "dusty" and rows[0]["rep"] == "Rep 1"
    assert "shelf_photo" not in rows[0] and rows[0]["photo_count"] == "1"
    # Another team: 404 for its unit, nothing of rep1's in its own export.
    assert (
        await client.get(
            f"{FORMS}/{form['id']}/answers?{period}&org_unit_id={team1}", headers=await auth("manager2")
        )
    ).status_code == 404
    theirs = await client.get(f"{FORMS}/{form['id']}/answers?{period}", headers=await auth("manager2"))
    assert theirs.status_code == 200 and theirs.json() == []
    outside = await client.get(
        f"{FORMS}/{form['id']}/answers?from=2026-12-01&to=2026-12-31", headers=await auth("manager1")
    )
    assert outside.json() == []
    bad_period = await client.get(
        f"{FORMS}/{form['id']}/answers?from=2026-12-01", headers=await auth("manager1")
    )
    assert bad_period.status_code == 400 and bad_period.json()["errors"][0]["field"] == "to"


async def test_another_companys_form_is_not_found_and_cannot_be_answered(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=1))
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with sessionmaker() as session, session.begin():
        other = OrgUnit(name="Other Co", kind="company", timezone="UTC")
        session.add(other)
        await session.flush()
        foreign = VisitForm(
            company_id=other.id, name="Theirs", active=True, version=1, grades=[], statuses=[]
        )
        session.add(foreign)
        await session.flush()
        session.add(
            VisitFormVersion(
                form_id=foreign.id,
                version=1,
                fields=[{"key": "x", "kind": "yes_no", "label": "X"}],
                created_at=CHECK_IN,
            )
        )
    headers = await auth("rep1")
    assert (await client.get(f"{FORMS}/{foreign.id}", headers=headers)).status_code == 404
    assert (
        await client.patch(f"{FORMS}/{foreign.id}", json={"name": "Mine"}, headers=await auth("admin"))
    ).status_code == 404
    assert [f["name"] for f in (await client.get(FORMS, headers=headers)).json()] == []
    [place] = await customers_of(engine, demo.user("rep1"))
    checkin_id = await _visit(client, headers, place)
    sent = {"form_id": str(foreign.id), "version": 1, "values": {"x": True}}
    refused = await client.post(f"{API}/{checkin_id}/checkout", json=_checkout([sent]), headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "answers[0].form_id", "message": "is not a form of this company"}
    ]
