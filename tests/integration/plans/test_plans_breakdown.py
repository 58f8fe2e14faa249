"""Breakdown through the API: every level sums exactly to its parent, by org and over time."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Holiday, OrgUnit, User
from tests.conftest import Demo

SEASON = {str(m): w for m, w in zip(range(1, 13), (7, 7, 8, 8, 8, 9, 9, 9, 8, 9, 9, 9), strict=True)}


def total(children: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(c["amount"]) for c in children), Decimal(0))


def weekdays(start: date, end: date, holidays: frozenset[date] = frozenset()) -> int:
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return sum(1 for d in days if d.weekday() < 5 and d not in holidays)


async def create_year(
    client: AsyncTestClient[Any], headers: dict[str, str], scope_id: Any, amount: str, year: int = 2027
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/targets",
        headers=headers,
        json={
            "scope": "org_unit",
            "scope_id": str(scope_id),
            "metric": "revenue",
            "granularity": "year",
            "period_start": f"{year}-01-01",
            "amount": amount,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def breakdown(
    client: AsyncTestClient[Any], headers: dict[str, str], target_id: str, **body: Any
) -> list[dict[str, Any]]:
    response = await client.post(f"/api/v1/targets/{target_id}/breakdown", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["children"]


async def test_company_region_team_rep_each_level_sums_exactly(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    headers = await auth("exec")
    company = await create_year(client, headers, demo.company_id, "1234567.89")
    assert company["period_end"] == "2027-12-31" and company["status"] == "draft"

    regions = await breakdown(client, headers, company["id"], dimension="org", method="even")
    assert len(regions) == 2 and total(regions) == Decimal("1234567.89")
    assert {r["scope"] for r in regions} == {"org_unit"}

    reps_checked = 0
    for region in regions:
        teams_of_region = (
            await session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id == region["scope_id"]))
        ).all()
        shares = dict(zip(map(str, sorted(teams_of_region)), ("33.3", "66.7"), strict=True))
        teams = await breakdown(
            client, headers, region["id"], dimension="org", method="explicit", shares=shares
        )
        assert total(teams) == Decimal(region["amount"])
        by_team = {t["scope_id"]: Decimal(t["amount"]) for t in teams}
        smaller = min(shares, key=lambda k: Decimal(shares[k]))
        assert abs(by_team[smaller] - Decimal(region["amount"]) * Decimal("0.333")) <= Decimal("0.01")
        for team in teams:
            reps = await breakdown(client, headers, team["id"], dimension="org", method="last_period")
            rep_ids = set(
                (
                    await session.scalars(
                        select(User.id).where(User.org_unit_id == team["scope_id"], User.role == "rep")
                    )
                ).all()
            )
            assert {r["scope"] for r in reps} == {"user"}
            assert {r["scope_id"] for r in reps} == {str(i) for i in rep_ids}
            assert total(reps) == Decimal(team["amount"])
            reps_checked += len(reps)
    assert reps_checked == 8


async def test_year_to_month_by_seasonal_distribution_then_weeks(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    headers = await auth("exec")
    created = await client.post(
        "/api/v1/seasonal-distributions", headers=headers, json={"name": "Retail", "month_weights": SEASON}
    )
    assert created.status_code == 201, created.text
    year = await create_year(client, headers, demo.company_id, "1000000.01")

    months = await breakdown(
        client,
        headers,
        year["id"],
        dimension="time",
        granularity="month",
        distribution_id=created.json()["id"],
    )

    assert len(months) == 12 and total(months) == Decimal("1000000.01")
    for month in months:
        share = Decimal(SEASON[str(date.fromisoformat(month["period_start"]).month)]) / 100
        assert abs(Decimal(month["amount"]) - Decimal("1000000.01") * share) <= Decimal("0.01")
    assert (await client.get(f"/api/v1/targets/{year['id']}", headers=headers)).json()["weights"] is not None

    march = next(m for m in months if m["period_start"] == "2027-03-01")
    weeks = await breakdown(client, headers, march["id"], dimension="time", granularity="week")
    assert total(weeks) == Decimal(march["amount"])
    assert weeks[0]["period_start"] == "2027-03-01" and weeks[-1]["period_end"] == "2027-03-31"
    assert (
        sum(
            (date.fromisoformat(w["period_end"]) - date.fromisoformat(w["period_start"])).days + 1
            for w in weeks
        )
        == 31
    )


async def test_year_to_quarter_to_month_by_working_days_with_holidays(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    # A company holiday on Friday 1 January 2027 is inherited by the region below it.
    await session.execute(
        insert(Holiday).values(org_unit_id=demo.company_id, day=date(2027, 1, 1), name="New Year")
    )
    await session.commit()
    headers = await auth("exec")
    region_id = demo.units["East China"]
    year = await create_year(client, headers, region_id, "523000.00")

    quarters = await breakdown(client, headers, year["id"], dimension="time", granularity="quarter")
    assert [q["period_start"] for q in quarters] == ["2027-01-01", "2027-04-01", "2027-07-01", "2027-10-01"]
    assert total(quarters) == Decimal("523000.00")

    holidays = frozenset({date(2027, 1, 1)})
    year_days = weekdays(date(2027, 1, 1), date(2027, 12, 31), holidays)
    for quarter in quarters:
        days = weekdays(
            date.fromisoformat(quarter["period_start"]), date.fromisoformat(quarter["period_end"]), holidays
        )
        assert abs(Decimal(quarter["amount"]) - Decimal("523000") * days / year_days) <= Decimal("0.01")
        months = await breakdown(client, headers, quarter["id"], dimension="time", granularity="month")
        assert len(months) == 3 and total(months) == Decimal(quarter["amount"])


async def test_redoing_a_draft_breakdown_replaces_it(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    headers = await auth("exec")
    year = await create_year(client, headers, demo.company_id, "1200.00")
    await breakdown(client, headers, year["id"], dimension="time", granularity="month")
    again = await breakdown(
        client, headers, year["id"], dimension="time", granularity="month", weights=SEASON
    )
    children = (
        await client.get(f"/api/v1/targets?parent_id={year['id']}&granularity=month", headers=headers)
    ).json()
    assert {c["id"] for c in children} == {c["id"] for c in again}
    assert total(children) == Decimal("1200.00")


async def test_bad_breakdown_input_names_the_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    headers = await auth("exec")
    year = await create_year(client, headers, demo.company_id, "1000.00")
    regions = [str(demo.units["East China"]), str(demo.units["US West"])]

    cases = [
        (
            {"dimension": "org", "method": "explicit", "shares": {regions[0]: 60, regions[1]: 30}},
            422,
            "shares",
        ),
        ({"dimension": "org", "method": "explicit", "shares": {regions[0]: 100}}, 422, "shares"),
        ({"dimension": "org"}, 422, "method"),
        ({"dimension": "time", "granularity": "month", "weights": {**SEASON, "1": 8}}, 422, "weights"),
        ({"dimension": "time", "granularity": "day"}, 400, "granularity"),
        ({"dimension": "time"}, 422, "granularity"),
        ({"dimension": "sideways"}, 400, "dimension"),
    ]
    for body, status, field in cases:
        response = await client.post(f"/api/v1/targets/{year['id']}/breakdown", headers=headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, (body, response.json())

    bad_season = await client.post(
        "/api/v1/seasonal-distributions",
        headers=headers,
        json={"name": "Bad", "month_weights": {**SEASON, "12": 10}},
    )
    assert bad_season.status_code == 422
    assert bad_season.json()["errors"][0]["field"] == "month_weights"
    assert "101" in bad_season.json()["detail"]
