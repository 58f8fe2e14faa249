"""Customers API: scope matrix, overrides by role, filters, CSV export and bad input (both engines)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.org import subtree_unit_ids
from server.core.services import Services
from server.db.models import Customer, User
from server.domain.policy import DEFAULT_VISIT_INTERVALS, overdue_ratio
from server.services.customers.grading import GradingService
from tests.conftest import Demo, MutableClock

USERS = ("rep1", "rep2", "manager1", "manager2", "exec", "admin")
TODAY = date(2026, 11, 18)


@pytest.fixture
async def graded(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo, clock: MutableClock
) -> Demo:
    async with sessionmaker() as session:
        await Services(session, settings, Clock(fixed=clock.now())).get(GradingService).regrade_all()
        await session.commit()
    return demo


async def visible_ids(sessionmaker: async_sessionmaker[AsyncSession], local: str) -> set[UUID]:
    """Who should see what, straight from the data: reps their own, managers their subtree."""
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.email == f"{local}@demo.example"))
        assert user is not None and user.org_unit_id is not None
        if user.role == "rep":
            where = Customer.owner_rep_id == user.id
        else:
            where = Customer.org_unit_id.in_(await subtree_unit_ids(session, user.org_unit_id))
        return set((await session.scalars(select(Customer.id).where(where))).all())


async def test_scope_matrix_for_list_detail_and_override(
    client: AsyncTestClient[Any], graded: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        everyone = set((await session.scalars(select(Customer.id))).all())
    scopes = {local: await visible_ids(sessionmaker, local) for local in USERS}
    assert scopes["exec"] == scopes["admin"] == everyone
    assert scopes["rep1"] and scopes["rep1"] < scopes["manager1"] < everyone
    assert not scopes["manager1"] & scopes["manager2"] and not scopes["rep1"] & scopes["rep2"]

    for local in USERS:
        headers = await auth(local)
        listed = await client.get("/api/v1/customers?limit=200", headers=headers)
        assert listed.status_code == 200
        assert {UUID(item["id"]) for item in listed.json()["items"]} == scopes[local], local
        assert listed.json()["total"] == len(scopes[local])
        exported = await client.get("/api/v1/customers?format=csv", headers=headers)
        assert {
            UUID(row["id"]) for row in csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff")))
        } == scopes[local], local

        inside, outside = next(iter(scopes[local])), next(iter(everyone - scopes[local]), None)
        assert (await client.get(f"/api/v1/customers/{inside}", headers=headers)).status_code == 200
        if outside is not None:
            hidden = await client.get(f"/api/v1/customers/{outside}", headers=headers)
            assert hidden.status_code == 404 and hidden.headers["content-type"].startswith(
                "application/problem+json"
            )

        body = {"grade_override": "B", "reason": "Key account", "until": None}
        patched = await client.patch(f"/api/v1/customers/{inside}", headers=headers, json=body)
        assert patched.status_code == (403 if local.startswith("rep") else 200), (local, patched.text)
        if outside is not None:
            blocked = await client.patch(f"/api/v1/customers/{outside}", headers=headers, json=body)
            assert blocked.status_code == (403 if local.startswith("rep") else 404), local

    async with sessionmaker() as session:
        overridden = set(
            (await session.scalars(select(Customer.id).where(Customer.grade_override.is_not(None)))).all()
        )
    # Only the four non-rep callers' in-scope picks were overridden; nothing outside a scope moved.
    assert 1 <= len(overridden) <= 4


async def test_a_manager_can_clear_an_override_and_history_keeps_both(
    client: AsyncTestClient[Any], graded: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await auth("manager1")
    customer_id = next(iter(await visible_ids(sessionmaker, "rep1")))
    set_ = await client.patch(
        f"/api/v1/customers/{customer_id}",
        headers=headers,
        json={"grade_override": "A", "reason": "Expansion"},
    )
    assert set_.status_code == 200 and set_.json()["customer"]["grade"] == "A"
    same = await client.patch(
        f"/api/v1/customers/{customer_id}",
        headers=headers,
        json={"grade_override": "A", "reason": "Expansion"},
    )
    assert len(same.json()["grade_history"]) == len(set_.json()["grade_history"])  # a repeat writes nothing
    cleared = await client.patch(
        f"/api/v1/customers/{customer_id}", headers=headers, json={"grade_override": None}
    )
    assert cleared.status_code == 200
    customer = cleared.json()["customer"]
    assert customer["grade_override"] is None and customer["grade"] == customer["computed_grade"]
    sources = [h["source"] for h in cleared.json()["grade_history"]]
    assert sources[:2] == ["override", "override"]


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "field"),
    [
        ("PATCH", "/api/v1/customers/{id}", {"grade_override": "E", "reason": "x"}, 400, "grade_override"),
        (
            "PATCH",
            "/api/v1/customers/{id}",
            {"grade_override": "B", "reason": "x", "until": "2026-11-17"},
            422,
            "until",
        ),
        (
            "PATCH",
            "/api/v1/customers/{id}",
            {"grade_override": "B", "reason": "x", "until": "soon"},
            400,
            "until",
        ),
        ("PATCH", "/api/v1/customers/{id}", {"grade_override": "B", "reason": "  "}, 422, "reason"),
        ("PATCH", "/api/v1/customers/{id}", {"grade_override": None, "until": "2026-12-01"}, 422, "until"),
        ("PATCH", "/api/v1/customers/{id}", {"reason": "x"}, 400, "grade_override"),
        (
            "PATCH",
            "/api/v1/customers/{id}",
            {"grade_override": "B", "reason": "x", "admin": True},
            400,
            "admin",
        ),
        ("PATCH", "/api/v1/customers/not-a-uuid", {"grade_override": "B", "reason": "x"}, 400, "customer_id"),
        ("GET", "/api/v1/customers/not-a-uuid", None, 400, "customer_id"),
        ("GET", "/api/v1/customers?limit=201", None, 400, "limit"),
        ("GET", "/api/v1/customers?offset=-1", None, 400, "offset"),
        ("GET", "/api/v1/customers?grade=Z", None, 400, "grade"),
        ("GET", "/api/v1/customers?sort=cheapest", None, 400, "sort"),
        ("GET", "/api/v1/customers?owner_rep_id=42", None, 400, "owner_rep_id"),
        ("GET", "/api/v1/customers?overdue=maybe", None, 400, "overdue"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client: AsyncTestClient[Any],
    graded: Demo,
    auth: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    method: str,
    url: str,
    body: dict[str, Any] | None,
    status: int,
    field: str,
) -> None:
    customer_id = next(iter(await visible_ids(sessionmaker, "manager1")))
    response = await client.request(
        method, url.format(id=customer_id), json=body, headers=await auth("manager1")
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {error["field"] for error in response.json()["errors"]}


async def test_filters_sort_search_and_pages(
    client: AsyncTestClient[Any], graded: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await auth("exec")

    async def items(query: str) -> list[dict[str, Any]]:
        response = await client.get(f"/api/v1/customers?limit=200&{query}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]

    everyone = await items("")
    assert len(everyone) == 160
    for grade in "ABCD":
        assert {c["grade"] for c in await items(f"grade={grade}")} == {grade}
    rep1 = graded.user("rep1")
    assert {c["owner_rep_id"] for c in await items(f"owner_rep_id={rep1}")} == {str(rep1)}

    # overdue=true is exactly the customers whose domain overdue ratio is above 1.
    def overdue(c: dict[str, Any]) -> bool:
        last = date.fromisoformat(c["last_visit_on"]) if c["last_visit_on"] else None
        ratio = overdue_ratio(
            None if last is None else (TODAY - last).days, DEFAULT_VISIT_INTERVALS[c["grade"]]
        )
        return c["status"] != "closed" and ratio > 1

    late = await items("overdue=true")
    assert {c["id"] for c in late} == {c["id"] for c in everyone if overdue(c)}
    assert late and all(c["overdue"] for c in late) and len(late) < len(everyone)

    revenues = [float(c["revenue_365"]) for c in await items("sort=-revenue")]
    assert revenues == sorted(revenues, reverse=True)
    word = everyone[0]["name"].split()[0]
    found = await items(f"q={word.lower()}")
    assert found and all(word.lower() in c["name"].lower() for c in found)
    assert await items("q=%25") == []  # a literal %, not a wildcard

    first = (await client.get("/api/v1/customers?limit=70&offset=0", headers=headers)).json()
    third = (await client.get("/api/v1/customers?limit=70&offset=140", headers=headers)).json()
    assert first["total"] == third["total"] == 160 and len(third["items"]) == 20
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in third["items"]}


async def test_csv_export_follows_filters_and_defuses_formulas(
    client: AsyncTestClient[Any], graded: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        customer = await session.scalar(select(Customer).where(Customer.grade == "A").limit(1))
        assert customer is not None
        customer.name = "=HYPERLINK(evil)"
        await session.commit()
    response = await client.get("/api/v1/customers?format=csv&grade=A", headers=await auth("admin"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff"), "a UTF-8 BOM first, for Excel"
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
    assert rows and {row["grade"] for row in rows} == {"A"}
    assert "'=HYPERLINK(evil)" in {row["name"] for row in rows}


async def test_detail_explains_the_grade(
    client: AsyncTestClient[Any], graded: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.grade == "B", Customer.last_visit_on.is_not(None)).limit(1)
        )
    assert customer is not None
    body = (await client.get(f"/api/v1/customers/{customer.id}", headers=await auth("exec"))).json()
    explanation = body["explanation"]
    assert explanation["source"] == "computed"
    # B: customers with more revenue hold at least 80% but less than 95% of it.
    assert 0.80 <= float(explanation["richer_share"]) < 0.95
    assert any("Computed grade B" in line for line in explanation["reasons"])
    assert body["customer"]["next_visit_due"] == (customer.last_visit_on + timedelta(days=14)).isoformat()
    assert body["recent_visits"] and body["recent_orders"]


async def test_anonymous_callers_get_401(client: AsyncTestClient[Any], graded: Demo) -> None:
    assert (await client.get("/api/v1/customers")).status_code == 401
    assert (await client.get("/api/v1/visit-policy")).status_code == 401
