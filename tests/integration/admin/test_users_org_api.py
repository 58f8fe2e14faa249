"""Users, org units, settings and the audit log through the API, on the seeded demo company."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.config import Settings
from server.db.models import AuditEntry, Customer, OrgSettings, Task, User
from tests.conftest import Demo, MutableClock, login_session

PASSWORD = "bamboo-river-stone"


async def test_deactivated_users_tokens_and_sessions_answer_401_at_once(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    session: AsyncSession,
    settings: Settings,
    clock: MutableClock,
) -> None:
    admin = await auth("admin")
    rep_bearer = await auth("rep1")
    assert (await client.get("/api/v1/me", headers=rep_bearer)).status_code == 200
    # A second client holds rep1's browser session (cookie), on an app of its own, as a second
    # process would (two test clients on one app would share its pool across two event loops).
    second_app = create_app(settings, clock=clock)
    async with AsyncTestClient(app=second_app, base_url="http://testserver.local") as browser:
        await login_session(browser, "rep1")
        assert (await browser.get("/api/v1/me")).status_code == 200
        owned = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.owner_rep_id == demo.user("rep1"))
        )
        missing = await client.patch(
            f"/api/v1/users/{demo.user('rep1')}", headers=admin, json={"active": False}
        )
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "successor_id"

        done = await client.patch(
            f"/api/v1/users/{demo.user('rep1')}",
            headers=admin,
            json={"active": False, "successor_id": str(demo.user("rep3"))},
        )
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["user"]["active"] is False
        assert body["customers_handed_over"] == owned > 0
        assert body["sessions_revoked"] >= 2
        assert (await client.get("/api/v1/me", headers=rep_bearer)).status_code == 401
        assert (await browser.get("/api/v1/me")).status_code == 401
        page = await browser.get("/", follow_redirects=False)
        assert page.status_code in (302, 303) and "/login" in page.headers["location"]
    login = await client.post(
        "/api/v1/auth/token", json={"email": "rep1@demo.example", "password": "fieldsales-demo"}
    )
    assert login.status_code == 401
    session.expire_all()
    assert (
        await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.owner_rep_id == demo.user("rep1"))
        )
        == 0
    )
    rep3_unit = await session.scalar(select(User.org_unit_id).where(User.id == demo.user("rep3")))
    assert set(
        await session.scalars(select(Customer.org_unit_id).where(Customer.owner_rep_id == demo.user("rep3")))
    ) == {rep3_unit}
    assert await session.scalar(select(AuditEntry.after).where(AuditEntry.action == "user.deactivated"))


async def test_an_admin_resetting_their_own_password_keeps_only_the_session_they_use(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, settings: Settings, clock: MutableClock
) -> None:
    """A reset ends every session of the user; an admin resetting their own keeps the one they are
    using (their other devices are signed out). Before, the admin's own reset signed them out
    mid-action, and with a link instead of a password left them no password at all."""
    admin = await auth("admin")
    second_app = create_app(settings, clock=clock)  # the admin's laptop, a second process
    async with AsyncTestClient(app=second_app, base_url="http://testserver.local") as laptop:
        await login_session(laptop, "admin")
        assert (await laptop.get("/api/v1/me")).status_code == 200
        done = await client.post(f"/api/v1/users/{demo.user('admin')}/password", headers=admin, json={})
        assert done.status_code == 200, done.text
        assert done.json()["set_password_link"].startswith("/set-password?token=")
        assert (await client.get("/api/v1/me", headers=admin)).status_code == 200
        assert (await laptop.get("/api/v1/me")).status_code == 401
    # Anyone else's reset still ends every one of their sessions.
    rep = await auth("rep1")
    again = await client.post(
        f"/api/v1/users/{demo.user('rep1')}/password", headers=admin, json={"password": PASSWORD}
    )
    assert again.status_code == 200, again.text
    assert (await client.get("/api/v1/me", headers=rep)).status_code == 401
    assert (await client.get("/api/v1/me", headers=admin)).status_code == 200


async def test_create_with_link_then_move_with_explicit_consequences(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    admin = await auth("admin")
    team1 = demo.units["Shanghai Team 1"]
    created = await client.post("/api/v1/users", headers=admin, json={
        "email": "New.Rep@demo.example", "name": "New Rep", "role": "rep", "org_unit_id": str(team1)})  # fmt: skip
    assert created.status_code == 201, created.text
    link = created.json()["set_password_link"]
    assert link.startswith("/set-password?token=")
    assert created.json()["user"]["email"] == "new.rep@demo.example"
    assert created.json()["user"]["timezone"] == "Asia/Shanghai"
    weak = await client.post(link, data={"password": "12345678", "confirm": "12345678"})
    assert weak.status_code == 422 and "common" in weak.text
    chosen = await client.post(link, data={"password": PASSWORD, "confirm": PASSWORD}, follow_redirects=False)
    assert chosen.status_code == 303, chosen.text
    assert (await client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})).status_code == 400, (
        "single use"
    )
    signed_in = await client.post(
        "/api/v1/auth/token", json={"email": "new.rep@demo.example", "password": PASSWORD}
    )
    assert signed_in.status_code == 200

    rep2 = demo.user("rep2")  # rep2 works in Los Angeles Team 1
    owned = await session.scalar(
        select(func.count()).select_from(Customer).where(Customer.owner_rep_id == rep2)
    )
    unsaid = await client.patch(f"/api/v1/users/{rep2}", headers=admin, json={"org_unit_id": str(team1)})
    assert unsaid.status_code == 422
    assert (
        unsaid.json()["errors"][0]["field"] == "customers"
        and f"{owned} customer(s)" in unsaid.json()["detail"]
    )
    moved = await client.patch(
        f"/api/v1/users/{rep2}", headers=admin, json={"org_unit_id": str(team1), "customers": "move_with_rep"}
    )
    assert moved.status_code == 200 and moved.json()["customers_moved"] == owned
    session.expire_all()
    assert set(await session.scalars(select(Customer.org_unit_id).where(Customer.owner_rep_id == rep2))) == {
        team1
    }

    session.add(Task(rep_id=demo.user("rep4"), local_date=date(2026, 11, 19), kind="visit", rank=1, score=1,
                     reasons=[], status="planned", source="planner",
                     customer_id=await session.scalar(select(Customer.id).where(Customer.owner_rep_id == demo.user("rep4")).limit(1))))  # fmt: skip
    await session.commit()
    handed = await client.patch(f"/api/v1/users/{demo.user('rep4')}", headers=admin, json={
        "org_unit_id": str(team1), "customers": "hand_over", "successor_id": str(demo.user("rep6"))})  # fmt: skip
    assert handed.status_code == 200, handed.text
    assert handed.json()["customers_handed_over"] > 0 and handed.json()["tasks_closed"] >= 1
    assert (await client.get(f"/api/v1/users/{rep2}", headers=await auth("rep3"))).status_code == 403


async def test_org_units_refuse_cycles_and_deleting_units_with_people(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    admin = await auth("admin")
    region = next(uid for name, uid in demo.units.items() if name == "East China")
    team = demo.units["Shanghai Team 1"]
    cycle = await client.patch(f"/api/v1/org-units/{region}", headers=admin, json={"parent_id": str(team)})
    assert cycle.status_code == 422 and cycle.json()["errors"][0]["field"] == "parent_id"
    busy = await client.delete(f"/api/v1/org-units/{team}", headers=admin)
    assert busy.status_code == 409 and "people" in busy.json()["detail"]
    new = await client.post("/api/v1/org-units", headers=admin, json={"name": "Suzhou", "kind": "team",
                                                                     "parent_id": str(region)})  # fmt: skip
    assert new.status_code == 201
    renamed = await client.patch(f"/api/v1/org-units/{new.json()['id']}", headers=admin,
                                 json={"name": "苏州队", "timezone": "Asia/Shanghai"})  # fmt: skip
    assert renamed.json()["name"] == "苏州队"
    bad_tz = await client.patch(
        f"/api/v1/org-units/{new.json()['id']}", headers=admin, json={"timezone": "Mars/Base"}
    )
    assert bad_tz.status_code == 422 and bad_tz.json()["errors"][0]["field"] == "timezone"
    assert (await client.delete(f"/api/v1/org-units/{new.json()['id']}", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/org-units", headers=await auth("manager1"))).status_code == 403

    day = await client.post(
        f"/api/v1/org-units/{team}/holidays", headers=admin, json={"day": "2026-12-24", "name": "公司年会"}
    )
    assert day.status_code == 201
    twice = await client.post(
        f"/api/v1/org-units/{team}/holidays", headers=admin, json={"day": "2026-12-24", "name": "x"}
    )
    assert twice.status_code == 409
    assert (
        await client.delete(f"/api/v1/org-units/{team}/holidays/2026-12-24", headers=admin)
    ).status_code == 204
    unknown = await client.post(
        "/api/v1/holidays/import",
        headers=admin,
        json={"country": "XX", "year": 2027, "org_unit_id": str(team)},
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "country"


async def test_settings_are_validated_audited_and_searchable(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    admin = await auth("admin")
    read = await client.get("/api/v1/settings", headers=await auth("exec"))
    assert read.status_code == 200 and read.json()["work_start"] == "09:00"
    bad = await client.patch(
        "/api/v1/settings", headers=admin, json={"pace_yellow": "0.5", "work_end": "25:00", "nope": 1}
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"work_end", "nope"}
    order = await client.patch("/api/v1/settings", headers=admin, json={"pace_yellow": "0.35"})
    assert order.status_code == 422 and order.json()["errors"][0]["field"] == "pace_orange"
    good = await client.patch("/api/v1/settings", headers=admin, json={
        "grace_working_days": 5, "work_start": "09:30", "quiet_start": "22:00", "order_amount_ceiling": "25000"})  # fmt: skip
    assert good.status_code == 200 and good.json()["grace_working_days"] == 5
    assert (
        await session.scalar(select(OrgSettings.work_start).where(OrgSettings.company_id == demo.company_id))
        == "09:30"
    )
    assert (
        await client.patch("/api/v1/settings", headers=await auth("exec"), json={"grace_working_days": 1})
    ).status_code == 403

    found = await client.get("/api/v1/audit-log?action=settings.&actor=alex", headers=await auth("exec"))
    assert found.status_code == 200 and found.json()["total"] == 1
    entry = found.json()["items"][0]
    assert entry["actor_email"] == "admin@demo.example"
    assert entry["before"]["work_start"] == "09:00" and entry["after"]["work_start"] == "09:30"
    assert (await client.get("/api/v1/audit-log", headers=await auth("manager1"))).status_code == 403


async def test_me_patch_sets_language_time_zone_and_notifications(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    rep = await auth("rep2")
    changed = await client.patch(
        "/api/v1/me", headers=rep, json={"locale": "zh-CN", "notifications_enabled": False}
    )
    assert changed.status_code == 200 and changed.json()["locale"] == "zh-CN"
    assert changed.json()["notifications_enabled"] is False
    page = await client.get("/api/v1/me/tasks", headers=rep)
    assert page.status_code == 200
    assert (await client.patch("/api/v1/me", headers=rep, json={"locale": "fr"})).json()["errors"][0][
        "field"
    ] == "locale"
    assert (
        await client.patch("/api/v1/me", headers=rep, json={"timezone": "Nowhere/City"})
    ).status_code == 422
    assert (await client.patch("/api/v1/me", headers=rep, json={"role": "admin"})).status_code == 400
