"""The stand-up board: every figure against the raw rows, scope by role, CSV and presenter mode."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.reviews.test_standup_support import TODAY, YESTERDAY, Scenario, build, q4, token

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def scenario(engine: AsyncEngine) -> Scenario:
    return await build(engine)


async def board(client: AsyncTestClient[Any], who: str, **params: str) -> dict[str, Any]:
    response = await client.get("/api/v1/standup", params=params, headers=await token(client, who))
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_card_figure_matches_the_raw_rows(
    client: AsyncTestClient[Any], scenario: Scenario
) -> None:
    data = await board(client, "manager1")  # defaults: own team, today in Shanghai
    assert data["date"] == TODAY.isoformat() and data["yesterday"] == YESTERDAY.isoformat()
    assert data["org_unit"]["id"] == str(scenario.team1)
    cards = {card["rep_id"]: card for card in data["cards"]}
    assert set(cards) == {str(scenario.rep("ann")), str(scenario.rep("bob"))}
    assert data["seconds_per_rep"] == 15 * 60 // 2
    for rep in (scenario.rep("ann"), scenario.rep("bob")):
        card = cards[str(rep)]
        statuses = scenario.visit_statuses(rep, YESTERDAY, YESTERDAY)
        orders = scenario.orders_of(rep, YESTERDAY, YESTERDAY)
        assert card["yesterday"] == {
            "visits_planned": sum(statuses.values()) - statuses["snoozed"],
            "visits_done": statuses["done"],
            "visits_completed": len(scenario.completed(rep, YESTERDAY, YESTERDAY)),
            "orders": len(orders),
            "order_amount": str(sum((o["amount"] for o in orders), Decimal(0))),
        }
        today = sorted(
            (
                t
                for t in scenario.tasks
                if t["rep_id"] == rep and t["local_date"] == TODAY and t.get("status_reason") != "rescheduled"
            ),
            key=lambda t: (t["rank"] is None, t["rank"] or 0, str(t["id"])),
        )[:3]
        assert [t["task_id"] for t in card["today"]] == [str(t["id"]) for t in today]
        open_escalations = [
            e for e in scenario.escalations if e["subject_id"] == rep and e["state"] != "resolved"
        ]
        assert {e["id"] for e in card["blockers"]["escalations"]} == {str(e["id"]) for e in open_escalations}
        overdue = [
            p
            for p in scenario.promises
            if p["rep_id"] == rep and p["status"] == "open" and p["due_on"] < TODAY
        ]
        assert {p["id"] for p in card["blockers"]["overdue_promises"]} == {str(p["id"]) for p in overdue}
        assert len(card["blockers"]["missed_visits"]) == statuses["missed"]
        target = scenario.month_target(rep)
        actual = scenario.revenue(rep, TODAY.replace(day=1), TODAY)
        expected = scenario.expected(rep, TODAY)
        assert Decimal(card["pace"]["target"]) == target
        assert Decimal(card["pace"]["actual"]) == actual
        assert Decimal(card["pace"]["expected"]) == expected
        assert Decimal(card["pace"]["pace"]) == q4(actual / expected)


async def test_known_values_for_ann(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    """The oracle itself is checked against figures worked out by hand in the scenario."""
    cards = {c["name"]: c for c in (await board(client, "manager1"))["cards"]}
    ann = cards["Ann"]
    assert ann["yesterday"] == {
        "visits_planned": 4, "visits_done": 1, "visits_completed": 3, "orders": 2, "order_amount": "750.50",
    }  # fmt: skip
    assert [t["rank"] for t in ann["today"]] == [1, 2, 3]
    assert ann["today"][2]["title"] == "Call about the invoice"
    assert len(ann["blockers"]["escalations"]) == 1 and ann["blockers"]["escalations"][0]["severity"] == "red"
    assert [p["due_on"] for p in ann["blockers"]["overdue_promises"]] == ["2026-11-15"]
    assert sorted(m["customer_name"] for m in ann["blockers"]["missed_visits"]) == ["A2", "B1"]
    # 13 of November's 21 working days: 21,000 x 13/21 = 13,000 expected; 6,050.50 booked.
    assert ann["pace"]["expected"] == "13000.00" and ann["pace"]["actual"] == "6050.50"
    assert ann["pace"]["pace"] == "0.4654" and ann["pace"]["status"] == "red"
    bob = cards["Bob"]
    assert bob["yesterday"]["visits_planned"] == 0 and bob["today"] == []
    assert bob["blockers"]["escalations"][0]["state"] == "acknowledged"


async def test_a_past_board_counts_only_what_was_booked_by_then(
    client: AsyncTestClient[Any], scenario: Scenario
) -> None:
    data = await board(client, "manager1", date="2026-11-17")
    ann = next(c for c in data["cards"] if c["name"] == "Ann")
    # Orders of the 18th are not in the pace of the 17th; yesterday is now the 16th.
    assert Decimal(ann["pace"]["actual"]) == scenario.revenue(
        scenario.rep("ann"), TODAY.replace(day=1), YESTERDAY
    )
    assert ann["yesterday"]["orders"] == 1 and ann["yesterday"]["order_amount"] == "200.00"


async def test_scope_manager_executive_and_rep(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    team2 = {"org_unit_id": str(scenario.team2)}
    assert [c["name"] for c in (await board(client, "manager2"))["cards"]] == ["Cyd"]
    outside = await client.get(
        "/api/v1/standup",
        params={"org_unit_id": str(scenario.team1)},
        headers=await token(client, "manager2"),
    )
    assert outside.status_code == 404
    assert outside.json()["errors"][0]["field"] == "org_unit_id"
    assert [c["name"] for c in (await board(client, "exec", **team2))["cards"]] == ["Cyd"]
    assert [c["name"] for c in (await board(client, "director"))["cards"]] == ["Ann", "Bob", "Cyd"]
    # A rep asking for their team gets their own card only; another unit is 404.
    own = await board(client, "ann", org_unit_id=str(scenario.team1))
    assert [c["name"] for c in own["cards"]] == ["Ann"]
    assert (await board(client, "ann"))["cards"][0]["rep_id"] == str(scenario.rep("ann"))
    other = await client.get("/api/v1/standup", params=team2, headers=await token(client, "ann"))
    assert other.status_code == 404
    region = await client.get(
        "/api/v1/standup", params={"org_unit_id": str(scenario.region)}, headers=await token(client, "ann")
    )
    assert region.status_code == 404


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"date": "2026-13-01"}, "date", 400),
        ({"date": "yesterday"}, "date", 400),
        ({"org_unit_id": "not-a-uuid"}, "org_unit_id", 400),
        ({"org_unit_id": "6f1c1e1e-1111-4111-8111-111111111111"}, "org_unit_id", 404),
        ({"format": "xml"}, "format", 400),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client: AsyncTestClient[Any], scenario: Scenario, params: dict[str, str], field: str, status: int
) -> None:
    response = await client.get("/api/v1/standup", params=params, headers=await token(client, "manager1"))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_csv_export_matches_the_json(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    headers = await token(client, "manager1")
    data = await board(client, "manager1")
    response = await client.get("/api/v1/standup", params={"format": "csv"}, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
    assert [r["rep_id"] for r in rows] == [c["rep_id"] for c in data["cards"]]
    for row, card in zip(rows, data["cards"], strict=True):
        for key, value in card["yesterday"].items():
            assert row[key] == str(value)
        assert row["open_escalations"] == str(len(card["blockers"]["escalations"]))
        assert row["overdue_promises"] == str(len(card["blockers"]["overdue_promises"]))
        assert row["missed_visits"] == str(len(card["blockers"]["missed_visits"]))
        assert row["pace"] == (card["pace"]["pace"] or "") and row["month_actual"] == card["pace"]["actual"]
        assert row["top_tasks"].count("(") == len(card["today"])
    page_csv = await client.get("/standup", params={"format": "csv"}, headers=headers)
    assert page_csv.text == response.text
