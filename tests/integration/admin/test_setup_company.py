"""A real company set up from an empty database through the product's own CLI and API:
`fieldsales init`, a region, two teams, a manager and three reps, customers from a GB18030 CSV,
orders from an .xlsx file, CN holidays of 2027; the reps' Today lists and pace follow working days."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import ROOT, Settings
from server.db.models import AuditEntry, Customer, Holiday, OrgSettings, OrgUnit, User
from server.jobs.registry import run_job
from tests.conftest import MutableClock

ADMIN_PASSWORD = "lantern-harbour-2027"
PASSWORD = "bamboo-river-stone"


def fieldsales(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as an operator types it, on the test's database."""
    env = {**os.environ, "DATABASE_URL": settings.effective_database_url, "SECRET_KEY": "test-secret-key"}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def token(client: AsyncTestClient[Any], email: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def orders_xlsx(rows: list[tuple[str, str, float, date, str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["external_ref", "customer_ref", "amount", "ordered_on", "rep_email"])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.heavy
async def test_a_company_from_an_empty_database(
    client: AsyncTestClient[Any],
    settings: Settings,
    clock: MutableClock,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock.set(datetime(2027, 2, 1, 1, 0, tzinfo=UTC))  # Monday 1 February 2027, 09:00 in Shanghai
    done = fieldsales(
        settings, "init", "--company", "华东贸易 East Trading", "--timezone", "Asia/Shanghai",
        "--admin-email", "admin@east.example", "--admin-name", "Wei Admin", "--password", ADMIN_PASSWORD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "created company" in done.stdout
    again = fieldsales(settings, "init", "--company", "X", "--timezone", "UTC", "--admin-email", "x@x.example",
                       "--password", ADMIN_PASSWORD)  # fmt: skip
    assert again.returncode != 0 and "already has an organisation" in again.stderr

    second = fieldsales(settings, "create-user", "--email", "ops@east.example", "--name", "运营 Ops", "--role",
                        "admin", "--locale", "zh-CN", "--password", ADMIN_PASSWORD)  # fmt: skip
    assert second.returncode == 0 and "created user" in second.stdout, second.stderr
    weak = fieldsales(settings, "create-user", "--email", "weak@east.example", "--name", "Weak", "--role", "rep",
                      "--password", "qwertyuiop")  # fmt: skip
    assert weak.returncode != 0 and "password: is one of the most common passwords" in weak.stderr
    unknown_unit = fieldsales(settings, "create-user", "--email", "u@east.example", "--name", "U", "--role", "rep",
                              "--org-unit", "Nowhere", "--password", ADMIN_PASSWORD)  # fmt: skip
    assert unknown_unit.returncode != 0 and "org_unit" in unknown_unit.stderr

    company = (await session.scalars(select(OrgUnit))).one()
    assert (company.kind, company.timezone) == ("company", "Asia/Shanghai")
    company_id = company.id
    assert await session.scalar(
        select(OrgSettings.pace_red).where(OrgSettings.company_id == company_id)
    ) == Decimal("0.3")
    admin = await token(client, "admin@east.example", ADMIN_PASSWORD)
    assert (
        await client.get("/api/v1/me", headers=await token(client, "ops@east.example", ADMIN_PASSWORD))
    ).json()["locale"] == "zh-CN"

    region = await ok(await client.post("/api/v1/org-units", headers=admin,
                                        json={"name": "华东区 East", "kind": "region", "parent_id": str(company_id)}))  # fmt: skip
    teams = [
        await ok(await client.post("/api/v1/org-units", headers=admin,
                                   json={"name": name, "kind": "team", "parent_id": region["id"]}))
        for name in ("上海一队", "Hangzhou Team")
    ]  # fmt: skip
    assert {t["timezone"] for t in teams} == {"Asia/Shanghai"}, "a unit inherits its parent's time zone"
    manager = await ok(await client.post("/api/v1/users", headers=admin, json={
        "email": "lin.manager@east.example", "name": "林经理", "role": "manager", "org_unit_id": region["id"],
        "password": PASSWORD, "locale": "zh-CN"}))  # fmt: skip
    await ok(await client.patch(f"/api/v1/org-units/{region['id']}", headers=admin,
                                json={"manager_user_id": manager["user"]["id"]}), 200)  # fmt: skip
    reps = []
    for number, team in ((1, teams[0]), (2, teams[0]), (3, teams[1])):
        created = await ok(await client.post("/api/v1/users", headers=admin, json={
            "email": f"rep{number}@east.example", "name": f"代表 {number}", "role": "rep",
            "org_unit_id": team["id"], "password": PASSWORD, "start_lat": 31.23, "start_lng": 121.47}))  # fmt: skip
        reps.append(created["user"])
    weak = await client.post("/api/v1/users", headers=admin, json={
        "email": "weak@east.example", "name": "Weak", "role": "rep", "org_unit_id": teams[0]["id"],
        "password": "password1"})  # fmt: skip
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"

    # Customers from a file saved by Chinese Excel: GB18030, semicolons.
    lines = ["external_ref;name;owner_email;lat;lng;status;potential"]
    for number in range(1, 13):
        owner = reps[(number - 1) % 3]["email"]
        lines.append(
            f"K{number:03d};上海客户{number}号商店;{owner};31.2{number % 10};121.4{number % 7};active;{number * 1000}"
        )
    customers_csv = "\r\n".join(lines).encode("gb18030")
    manager_auth = await token(client, "lin.manager@east.example", PASSWORD)
    imported = await ok(await client.post("/api/v1/import/customers", headers=manager_auth,
                                          files={"file": ("客户.csv", customers_csv, "text/csv")}), 200)  # fmt: skip
    assert imported["created"] == 12
    stored = {c.external_ref: c for c in await session.scalars(select(Customer))}
    assert stored["K001"].name == "上海客户1号商店"
    owned_by = {str(c.id): str(c.owner_rep_id) for c in stored.values()}

    # Orders from an .xlsx workbook; the import regrades the company at once.
    order_rows = [(f"SO-{n}", f"K{n % 12 + 1:03d}", 200.0 * (n % 5 + 1) * (3 if n % 12 == 0 else 1),
                   date(2027, 1, 4 + n % 20), reps[(n % 12) % 3]["email"]) for n in range(1, 41)]  # fmt: skip
    orders = await ok(await client.post(
        "/api/v1/import/orders", headers=manager_auth,
        files={"file": ("orders.xlsx", orders_xlsx(order_rows),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}), 200)  # fmt: skip
    assert orders["created"] == 40 and orders["regraded"] > 0
    session.expire_all()
    grades = {c.external_ref: c.grade for c in await session.scalars(select(Customer))}
    assert "A" in grades.values() and all(g in "ABC" for g in grades.values()), grades

    holidays = await ok(await client.post("/api/v1/holidays/import", headers=admin, json={
        "country": "CN", "year": 2027, "org_unit_id": str(company_id)}), 200)  # fmt: skip
    assert holidays["added"] == holidays["holidays"] >= 15
    assert await session.scalar(select(Holiday.name).where(Holiday.day == date(2027, 2, 8)))
    repeat = await ok(await client.post("/api/v1/holidays/import", headers=admin, json={
        "country": "CN", "year": 2027, "org_unit_id": str(company_id)}), 200)  # fmt: skip
    assert repeat["added"] == 0

    # A February revenue target for each rep: the manager plans, the admin approves.
    for rep in reps:
        target = await ok(await client.post("/api/v1/targets", headers=manager_auth, json={
            "scope": "user", "scope_id": rep["id"], "metric": "revenue", "granularity": "month",
            "period_start": "2027-02-01", "amount": "15000"}))  # fmt: skip
        await ok(await client.post(f"/api/v1/targets/{target['id']}/submit", headers=manager_auth), 200)
        await ok(await client.post(f"/api/v1/targets/{target['id']}/approve", headers=admin), 200)

    # Chinese New Year's Eve, Friday 5 February 2027: a holiday, so no list and pace stands still.
    holiday_at = datetime(2027, 2, 5, 0, 30, tzinfo=UTC)
    await run_job("plan-day", sessionmaker, settings, holiday_at, force_slot=f"t-{uuid4()}")
    clock.set(holiday_at)
    rep_auth = [await token(client, r["email"], PASSWORD) for r in reps]  # tokens live hours, not days
    for headers in rep_auth:
        day = await ok(await client.get("/api/v1/me/tasks", headers=headers), 200)
        assert day["local_date"] == "2027-02-05" and day["plan"] is None and day["tasks"] == []
    pace_eve = await ok(await client.get("/api/v1/progress?as_of=2027-02-05", headers=rep_auth[0]), 200)
    pace_before = await ok(await client.get("/api/v1/progress?as_of=2027-02-04", headers=rep_auth[0]), 200)
    pace_after = await ok(await client.get("/api/v1/progress?as_of=2027-02-10", headers=rep_auth[0]), 200)
    assert (
        pace_eve["expected_to_date"] == pace_before["expected_to_date"] == pace_after["expected_to_date"]
    ), "5-10 February are holidays: nothing more is expected of the rep"

    # Thursday 11 February, the first working day after the festival: every rep has a list.
    work_at = datetime(2027, 2, 11, 0, 30, tzinfo=UTC)
    await run_job("plan-day", sessionmaker, settings, work_at, force_slot=f"t-{uuid4()}")
    clock.set(work_at)
    rep_auth = [await token(client, r["email"], PASSWORD) for r in reps]
    for rep, headers in zip(reps, rep_auth, strict=True):
        day = await ok(await client.get("/api/v1/me/tasks", headers=headers), 200)
        assert day["plan"] is not None and day["tasks"], rep["email"]
        owned = {cid for cid, owner in owned_by.items() if owner == rep["id"]}
        assert {t["customer"]["id"] for t in day["tasks"] if t.get("customer")} <= owned
    pace_11 = await ok(await client.get("/api/v1/progress?as_of=2027-02-11", headers=rep_auth[0]), 200)
    assert Decimal(pace_11["expected_to_date"]) > Decimal(pace_after["expected_to_date"])

    actions = set(await session.scalars(select(AuditEntry.action)))
    assert {
        "org_unit.created",
        "user.created",
        "import.customers",
        "import.orders",
        "holidays.imported",
    } <= actions
    assert (
        await session.scalar(select(User.locale).where(User.email == "lin.manager@east.example")) == "zh-CN"
    )
