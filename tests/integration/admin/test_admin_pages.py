"""The admin screens render for admins in both languages, refuse other roles, and their forms
show each problem next to its field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Demo, login_session

PAGES = ("/admin", "/admin/users", "/admin/users/new", "/admin/org-units", "/admin/settings", "/admin/imports",
         "/admin/audit", "/me/settings")  # fmt: skip


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_every_admin_page_renders_in_both_languages(
    client: AsyncTestClient[Any], demo: Demo, language: str
) -> None:
    await login_session(client, "admin")
    headers = {"Accept-Language": language}
    for path in (*PAGES, f"/admin/users/{demo.user('rep1')}", f"/admin/org-units/{demo.units['Shanghai Team 1']}",
                 f"/admin/calendars/{demo.company_id}?year=2027"):  # fmt: skip
        page = await client.get(path, headers=headers)
        assert page.status_code == 200, (path, page.text[:300])
        assert 'name="viewport"' in page.text
        if language == "zh-CN":
            assert re.search(r"[\u4e00-\u9fff]", page.text), path
            assert "Nothing set up yet" not in page.text
    home = await client.get("/admin", headers=headers)
    assert ("Users" if language == "en" else "用户") in home.text


async def test_other_roles_cannot_open_admin_pages(client: AsyncTestClient[Any], demo: Demo) -> None:
    await login_session(client, "manager1")
    for path in PAGES[:-2]:
        assert (await client.get(path)).status_code == 403, path
    assert (await client.get("/me/settings")).status_code == 200


async def test_forms_show_problems_next_to_fields(client: AsyncTestClient[Any], demo: Demo) -> None:
    csrf = await login_session(client, "admin")
    bad = await client.post("/admin/users/new", data={"_csrf_token": csrf, "name": "Zhang", "email": "rep1@demo.example",
                                                     "role": "rep", "org_unit_id": str(demo.units["Shanghai Team 1"])})  # fmt: skip
    assert bad.status_code == 422 and 'id="f-email-error"' in bad.text and "already used" in bad.text
    settings = await client.post("/admin/settings", data={"_csrf_token": csrf, "pace_yellow": "10", "pace_orange": "20",
                                                          "pace_red": "30", "work_start": "19:00", "work_end": "08:00"})  # fmt: skip
    assert settings.status_code == 422 and 'id="f-work_end-error"' in settings.text
    ok = await client.post("/admin/settings", data={"_csrf_token": csrf, "pace_yellow": "12", "pace_orange": "22",
                                                    "pace_red": "35"}, follow_redirects=True)  # fmt: skip
    assert ok.status_code == 200 and 'value="12"' in ok.text and 'value="35"' in ok.text
    calendar = await client.post(f"/admin/calendars/{demo.company_id}/import",
                                 data={"_csrf_token": csrf, "country": "CN", "year": "2027"}, follow_redirects=True)  # fmt: skip
    assert calendar.status_code == 200 and "cal-day is-holiday" in calendar.text
    audit = await client.get("/admin/audit?action=settings.")
    assert "settings.updated" in audit.text and "pace_yellow" in audit.text
    imported = await client.post("/admin/imports", data={"_csrf_token": csrf, "kind": "users"},
                                 files={"file": ("users.csv", "email;name;role;org_unit\r\nli.lei@demo.example;李雷;rep;Shanghai Team 1\r\n".encode("gb18030"), "text/csv")})  # fmt: skip
    assert imported.status_code == 200, imported.text[:500]
    assert "li.lei@demo.example" in imported.text and "/set-password?token=" in imported.text
    rejected = await client.post(
        "/admin/imports",
        data={"_csrf_token": csrf, "kind": "orders"},
        files={
            "file": (
                "o.csv",
                b"external_ref,customer_ref,amount,ordered_on\nX-1,NOPE,12,2026-11-02\n",
                "text/csv",
            )
        },
    )
    assert rejected.status_code == 422 and "Nothing was imported" in rejected.text
    assert (
        '<td class="num">2</td><td>customer_ref</td>' in rejected.text
        and "external_ref, customer_ref" in rejected.text
    )
    me = await client.post("/me/settings", data={"_csrf_token": csrf, "locale": "zh-CN", "timezone": "Asia/Shanghai"},
                           follow_redirects=True)  # fmt: skip
    assert me.status_code == 200 and 'lang="zh-CN"' in me.text


async def test_an_admin_resetting_their_own_password_on_the_page_stays_signed_in(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    csrf = await login_session(client, "admin")
    page = await client.post(
        f"/admin/users/{demo.user('admin')}/password",
        data={"_csrf_token": csrf, "password": "bamboo-river-stone"},
        follow_redirects=True,
    )
    assert page.status_code == 200 and "Password changed; your other sessions were signed out." in page.text
    assert page.url.path == f"/admin/users/{demo.user('admin')}"  # not sent to sign in
    kept = await client.get("/admin/users", follow_redirects=False)
    assert kept.status_code == 200  # this session was kept
