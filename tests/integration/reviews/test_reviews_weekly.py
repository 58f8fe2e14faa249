"""The weekly review: every figure against the raw rows, the CSV tables, scope and bad input."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.reviews.test_standup_support import MONDAY, TODAY, WEEK, Scenario, build, q4, token

pytestmark = pytest.mark.asyncio
API = "/api/v1/reviews/weekly"
FIRST = date(2026, 11, 1)


@pytest.fixture
async def scenario(engine: AsyncEngine) -> Scenario:
    return await build(engine)


async def review(client: AsyncTestClient[Any], who: str = "manager1", **params: str) -> dict[str, Any]:
    response = await client.get(API, params=params, headers=await token(client, who))
    assert response.status_code == 200, response.text
    return response.json()


def share(part: int | Decimal, whole: int | Decimal | None) -> str | None:
    return str(q4(Decimal(part) / Decimal(whole))) if whole else None


def expected_rows(s: Scenario, rep_name: str) -> dict[str, dict[str, Any]]:
    """The rep's plan, grades and funnel rows recomputed from the scenario's rows."""
    rep = s.rep(rep_name)
    week, mtd = s.visit_statuses(rep, MONDAY, TODAY), s.visit_statuses(rep, FIRST, TODAY)
    week_plan, week_actual = s.plan_between(rep, MONDAY, TODAY), s.revenue(rep, MONDAY, TODAY)
    mtd_plan, mtd_actual = s.expected(rep, TODAY), s.revenue(rep, FIRST, TODAY)
    planned = sum(week.values()) - week["snoozed"]
    mtd_planned = sum(mtd.values()) - mtd["snoozed"]
    visits = s.completed(rep, MONDAY, TODAY)
    with_order = [o for o in s.orders if o["checkin_id"] in {c["id"] for c in visits}]
    plan = {
        "week_plan": str(week_plan), "week_actual": str(week_actual), "week_attainment": share(week_actual, week_plan),
        "mtd_plan": str(mtd_plan), "mtd_actual": str(mtd_actual), "mtd_attainment": share(mtd_actual, mtd_plan),
        "week_visits_planned": planned, "week_visits_done": week["done"],
        "week_visit_compliance": share(week["done"], planned), "week_visits_completed": len(visits),
        "mtd_visits_planned": mtd_planned, "mtd_visits_done": mtd["done"],
        "mtd_visit_compliance": share(mtd["done"], mtd_planned),
        "mtd_visits_completed": len(s.completed(rep, FIRST, TODAY)),
    }  # fmt: skip
    grades: dict[str, Any] = {}
    for grade in ("A", "B", "C"):
        assigned, visited = s.reach(rep, TODAY, grade)
        grades |= {
            f"{grade}_assigned": assigned,
            f"{grade}_visited": visited,
            f"{grade}_compliance": share(visited, assigned),
        }
    assigned, visited = s.reach(rep, TODAY)
    grades |= {"assigned": assigned, "visited": visited, "reach": share(visited, assigned),
               "below_reach_floor": Decimal(visited) / assigned < Decimal("0.8")}  # fmt: skip
    amount = sum((o["amount"] for o in with_order), Decimal(0))
    funnel = {"visits_planned": planned, "visits_done": len(visits), "visits_with_order": len(with_order),
              "order_amount": str(amount), "hit_rate": share(len(with_order), len(visits))}  # fmt: skip
    return {"plan": plan, "grades": grades, "funnel": funnel}


def numeric(row: dict[str, Any]) -> dict[str, Any]:
    """Money and ratios compared as numbers (the API writes Decimals as strings)."""
    return {k: (Decimal(v) if isinstance(v, str) and v[:1].isdigit() else v) for k, v in row.items()}


async def test_every_figure_matches_the_raw_rows(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    data = await review(client)
    assert (data["week"], data["week_start"], data["as_of"]) == (WEEK, MONDAY.isoformat(), TODAY.isoformat())
    for name in ("ann", "bob"):
        rep_id = str(scenario.rep(name))
        wanted = expected_rows(scenario, name)
        for table in ("plan", "grades", "funnel"):
            row = next(r for r in data[table] if r["rep_id"] == rep_id)
            got = {k: row[k] for k in wanted[table]}
            assert numeric(got) == numeric(wanted[table]), (name, table)
    # The team row adds the reps up.
    plan = {r["rep_id"]: r for r in data["plan"]}
    assert Decimal(plan["team"]["week_actual"]) == sum(
        Decimal(plan[str(scenario.rep(n))]["week_actual"]) for n in ("ann", "bob")
    )
    assert plan["team"]["week_visits_planned"] == sum(
        plan[str(scenario.rep(n))]["week_visits_planned"] for n in ("ann", "bob")
    )


async def test_known_values(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    """Hand-worked figures: they guard the oracle as much as the code."""
    data = await review(client, week=WEEK)
    ann = next(r for r in data["plan"] if r["name"] == "Ann")
    # November has 21 working days; Mon-Wed of W47 are 3 of them: 21,000 x 3/21.
    assert (ann["week_plan"], ann["week_actual"], ann["week_attainment"]) == ("3000.00", "1050.50", "0.3502")
    assert (ann["week_visits_planned"], ann["week_visits_done"], ann["week_visits_completed"]) == (9, 3, 5)
    funnel = next(r for r in data["funnel"] if r["name"] == "Ann")
    assert (funnel["visits_with_order"], funnel["order_amount"], funnel["hit_rate"]) == (
        2,
        "700.00",
        "0.4000",
    )
    grades = {r["name"]: r for r in data["grades"]}
    assert (grades["Ann"]["A_assigned"], grades["Ann"]["A_visited"]) == (2, 1)  # A2 is a day outside 5 days
    assert (grades["Ann"]["reach"], grades["Ann"]["below_reach_floor"]) == ("0.8000", False)
    assert (grades["Bob"]["reach"], grades["Bob"]["below_reach_floor"]) == ("0.5000", True)
    movers = {(m["direction"], m["name"]): m for m in data["movers"]}
    assert movers[("up", "Bob")]["change"] == "0.6000"  # 20% of plan last week, 80% this week
    assert movers[("down", "Ann")]["change"] == "-0.4498"  # 80% last week, 35.02% this week


async def test_a_past_week_is_reviewed_as_a_whole(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    data = await review(client, week="2026-W46")
    assert data["as_of"] == "2026-11-15"
    ann = next(r for r in data["plan"] if r["name"] == "Ann")
    rep = scenario.rep("ann")
    start, end = MONDAY - timedelta(days=7), MONDAY - timedelta(days=1)
    assert Decimal(ann["week_plan"]) == scenario.plan_between(rep, start, end)
    assert Decimal(ann["week_actual"]) == scenario.revenue(rep, start, end)


async def test_csv_tables_match_the_json(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    data = await review(client)
    headers = await token(client, "manager1")
    for table in ("plan", "grades", "funnel", "movers"):
        response = await client.get(API, params={"format": "csv", "table": table}, headers=headers)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
        as_text = [{k: "" if v is None else str(v) for k, v in row.items()} for row in data[table]]
        assert rows == as_text, table
        assert rows, table
        page = await client.get("/reviews/weekly", params={"format": "csv", "table": table}, headers=headers)
        assert page.text == response.text


async def test_scope(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    region = await review(client, "director", org_unit_id=str(scenario.region))
    assert {r["name"] for r in region["plan"]} == {"Ann", "Bob", "Cyd", "North"}
    assert [r["name"] for r in (await review(client, "bob"))["plan"]] == ["Bob"]
    for who, unit in (
        ("manager2", scenario.team1),
        ("bob", scenario.team2),
        ("manager1", scenario.other_company),
    ):
        response = await client.get(API, params={"org_unit_id": str(unit)}, headers=await token(client, who))
        assert response.status_code == 404 and response.json()["errors"][0]["field"] == "org_unit_id"


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"week": "2026-47"}, "week", 400),
        ({"week": "2026-W60"}, "week", 400),
        ({"week": "2026-W5"}, "week", 400),
        ({"week": "2026-W50"}, "week", 422),  # a future week
        ({"org_unit_id": "x"}, "org_unit_id", 400),
        ({"format": "pdf"}, "format", 400),
        ({"format": "csv", "table": "nope"}, "table", 400),
    ],
)
async def test_bad_input(
    client: AsyncTestClient[Any], scenario: Scenario, params: dict[str, str], field: str, status: int
) -> None:
    response = await client.get(API, params=params, headers=await token(client, "manager1"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_page_renders_charts_with_table_fallbacks(
    client: AsyncTestClient[Any], scenario: Scenario
) -> None:
    headers = await token(client, "manager1")
    page = await client.get("/reviews/weekly", headers=headers)
    assert page.status_code == 200
    html = page.text
    for chart in ("chart-plan", "chart-reach", "chart-funnel", "chart-movers"):
        assert f'id="{chart}" role="img" aria-labelledby="{chart}-title {chart}-desc"' in html
    assert html.count("<table>") == 4 and "format=csv&amp;table=grades" in html
    assert "style=" not in html and "<script>" not in html  # the CSP allows neither
    bad = await client.get("/reviews/weekly", params={"week": "week 47"}, headers=headers)
    assert bad.status_code == 400
    assert 'name="week" type="week" value="week 47" aria-invalid="true"' in bad.text  # kept, marked
    assert 'aria-invalid="true"' in bad.text and 'id="f-week-error"' in bad.text
