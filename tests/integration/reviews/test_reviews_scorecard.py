"""Scorecards: each part against the raw rows, the org's weights, ranks within a team, CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import OrgSettings
from server.services.reviews.metrics import Rep
from server.services.reviews.scorecard import ScoreRow, parse_weights, ranked
from tests.integration.reviews.test_standup_support import TODAY, Scenario, build, q4, token

API = "/api/v1/reviews/scorecard"
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)


@pytest.fixture
async def scenario(engine: AsyncEngine) -> Scenario:
    return await build(engine)


async def scorecard(client: AsyncTestClient[Any], who: str = "manager1", **params: str) -> dict[str, Any]:
    response = await client.get(API, params=params, headers=await token(client, who))
    assert response.status_code == 200, response.text
    return response.json()


def parts(s: Scenario, name: str) -> tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]:
    """(result, visit compliance, reach, team) recomputed from the scenario's rows."""
    rep = s.rep(name)
    target = s.month_target(rep)
    result = q4(s.revenue(rep, FIRST, LAST) / target) if target else None
    statuses = s.visit_statuses(rep, FIRST, TODAY)
    counted = sum(statuses.values()) - statuses["snoozed"]
    compliance = q4(Decimal(statuses["done"]) / counted) if counted else None
    assigned, visited = s.reach(rep, TODAY)
    reach = q4(Decimal(visited) / assigned) if assigned else None
    team_reps = {s.rep("ann"), s.rep("bob")}
    team_customers = {c for c, owner in s.owner.items() if owner in team_reps}
    team_revenue = sum(
        (o["amount"] for o in s.orders if FIRST <= o["ordered_on"] <= LAST
         and (o["rep_id"] in team_reps or (o["rep_id"] is None and o["customer_id"] in team_customers))),
        Decimal(0),
    )  # fmt: skip
    team = q4(team_revenue / s.month_target(s.team1)) if rep in team_reps else None  # type: ignore[operator]
    return result, compliance, reach, team


def blend(result: Decimal, process: Decimal, team: Decimal, weights: tuple[str, str, str]) -> Decimal:
    clamp = [min(Decimal(1), max(Decimal(0), v)) for v in (result, process, team)]
    return q4(sum((v * Decimal(w) for v, w in zip(clamp, weights, strict=True)), Decimal(0)))


async def test_every_part_matches_the_raw_rows(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    data = await scorecard(client, "director", org_unit_id=str(scenario.region), month="2026-11")
    assert data["as_of"] == TODAY.isoformat() and data["weights"] == {
        "result": "0.5",
        "process": "0.3",
        "team": "0.2",
    }
    rows = {r["name"]: r for r in data["leaderboard"]}
    for name in ("ann", "bob", "cyd"):
        result, compliance, reach, team = parts(scenario, name)
        row = rows[name.title()]
        present = [p for p in (compliance, reach) if p is not None]
        process = q4(sum(present, Decimal(0)) / len(present)) if present else None
        got = [
            None if row[k] is None else Decimal(row[k])
            for k in ("result", "visit_compliance", "reach", "process", "team_attainment")
        ]
        assert got == [result, compliance, reach, process, team], name
        score = (
            blend(result, process, team, ("0.5", "0.3", "0.2"))
            if None not in (result, process, team)
            else None
        )
        assert (None if row["score"] is None else Decimal(row["score"])) == score, name
    # Ranked within each team: Team One has Ann and Bob; Cyd (no target) is listed unscored.
    assert [(r["team"], r["name"], r["rank"]) for r in data["leaderboard"]] == [
        ("Team One", "Ann", 1), ("Team One", "Bob", 2), ("Team Two", "Cyd", None),
    ]  # fmt: skip


async def test_known_values(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    rows = {r["name"]: r for r in (await scorecard(client))["leaderboard"]}
    ann = rows["Ann"]
    # 6,050.50 of 21,000; 5 of 12 planned visits done; 4 of 5 customers in cadence; the team
    # booked 7,827.50 of 42,000 (77.00 without a rep counts through its customer's unit).
    assert (ann["result"], ann["visit_compliance"], ann["reach"]) == ("0.2881", "0.4167", "0.8000")
    assert (ann["process"], ann["team_attainment"], ann["score"]) == ("0.6084", "0.1864", "0.3639")
    assert (rows["Bob"]["visit_compliance"], rows["Bob"]["process"], rows["Bob"]["score"]) == (
        None,
        "0.5000",
        "0.2682",
    )


async def test_the_org_weights_apply_and_bad_ones_fall_back(
    client: AsyncTestClient[Any], scenario: Scenario, engine: AsyncEngine
) -> None:
    async def set_weights(weights: dict[str, Any]) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                update(OrgSettings)
                .where(OrgSettings.company_id == scenario.company)
                .values(scorecard_weights=weights)
            )

    await set_weights({"result": 0.6, "process": 0.2, "team": 0.2})
    data = await scorecard(client)
    ann = next(r for r in data["leaderboard"] if r["name"] == "Ann")
    assert data["weights"] == {"result": "0.6", "process": "0.2", "team": "0.2"}
    assert Decimal(ann["score"]) == blend(
        Decimal(ann["result"]),
        Decimal(ann["process"]),
        Decimal(ann["team_attainment"]),
        ("0.6", "0.2", "0.2"),
    )
    await set_weights({"result": 0.7, "process": 0.3, "team": 0.2})  # sums to 1.2: ignored
    assert (await scorecard(client))["weights"] == {"result": "0.5", "process": "0.3", "team": "0.2"}


async def test_a_past_month_without_targets_is_unscored(
    client: AsyncTestClient[Any], scenario: Scenario
) -> None:
    data = await scorecard(client, month="2026-10")
    assert data["as_of"] == "2026-10-31"
    assert all(r["score"] is None and r["rank"] is None and r["result"] is None for r in data["leaderboard"])


async def test_csv_matches_the_json_and_scope(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    data = await scorecard(client)
    headers = await token(client, "manager1")
    response = await client.get(API, params={"format": "csv"}, headers=headers)
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
    assert rows == [{k: "" if v is None else str(v) for k, v in r.items()} for r in data["leaderboard"]]
    page = await client.get("/reviews/scorecard", params={"format": "csv"}, headers=headers)
    assert page.text == response.text
    assert [r["name"] for r in (await scorecard(client, "ann"))["leaderboard"]] == ["Ann"]
    denied = await client.get(API, params={"org_unit_id": str(scenario.team2)}, headers=headers)
    assert denied.status_code == 404


@pytest.mark.parametrize(
    ("month", "status"), [("2026-13", 400), ("11-2026", 400), ("2026-1", 400), ("2026-12", 422)]
)
async def test_bad_month(client: AsyncTestClient[Any], scenario: Scenario, month: str, status: int) -> None:
    response = await client.get(API, params={"month": month}, headers=await token(client, "manager1"))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["month"]


async def test_page_shows_each_team_leaderboard(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    page = await client.get(
        "/reviews/scorecard",
        params={"org_unit_id": str(scenario.region)},
        headers=await token(client, "director"),
    )
    assert page.status_code == 200
    assert page.text.count('role="img"') == 2 and "Leaderboard: Team One" in page.text


def _row(name: str, score: str | None) -> ScoreRow:
    rep = Rep(uuid4(), name, uuid4(), "T", "UTC")
    return ScoreRow(rep, None, None, None, None, None if score is None else Decimal(score))


def test_ranks_share_ties_and_put_unscored_last() -> None:
    rows = ranked([_row("d", None), _row("b", "0.5"), _row("a", "0.5"), _row("c", "0.9"), _row("e", "0.1")])
    assert [(r.rep.name, r.rank) for r in rows] == [("c", 1), ("a", 2), ("b", 2), ("e", 4), ("d", None)]


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ({"result": 0.5, "process": 0.3, "team": 0.2}, True),
        ({"result": "0.4", "process": "0.4", "team": "0.2"}, True),
        ({"result": 0.5, "process": 0.5}, False),
        ({"result": 0.8, "process": 0.3, "team": -0.1}, False),
        ({"result": "x", "process": 0.5, "team": 0.5}, False),
        ({"result": "NaN", "process": 0.5, "team": 0.5}, False),
        (None, False),
    ],
)
def test_weights_are_validated(raw: Any, ok: bool) -> None:
    assert (parse_weights(raw) is not None) is ok
