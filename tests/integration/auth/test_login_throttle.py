"""Login throttling that holds: atomic counting under concurrency, per account + address with a
progressive delay (the owner elsewhere is never locked out), login CSRF, cookie lifetime, and
sign-in inputs that can never be a 500."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from server.config import Settings
from server.services.auth import accounts
from tests.conftest import Demo, MutableClock, login_form_token

TOKEN = "/api/v1/auth/token"
OWNER = "rep1@demo.example"
PASSWORD = "fieldsales-demo"


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password actually checked (argon2 verify), in order."""
    seen: list[str] = []
    real = accounts.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        seen.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counting)
    return seen


def _from(address: str) -> dict[str, str]:
    # The test client connects from one address; the app reads request.client, which uvicorn's
    # proxy-headers middleware sets in production. Here the scope's client is patched per request.
    return {"x-test-client": address}


@pytest.fixture
def client_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.routes.auth import pages

    def from_header(request: Any) -> str:
        return request.headers.get("x-test-client") or (request.client.host if request.client else "unknown")

    monkeypatch.setattr(pages, "client_ip", from_header)


async def test_40_parallel_wrong_passwords_evaluate_at_most_the_limit_and_the_owner_still_signs_in(
    client: AsyncTestClient[Any], demo: Demo, settings: Settings, evaluated: list[str], client_address: None
) -> None:
    limit = settings.login_max_per_account
    attacker = _from("203.0.113.66")
    answers = await asyncio.gather(
        *(
            client.post(TOKEN, json={"email": OWNER, "password": f"guess-{n}"}, headers=attacker)
            for n in range(40)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert len(evaluated) <= limit, f"{len(evaluated)} passwords evaluated, limit {limit}"
    assert statuses.count(401) == len(evaluated) and statuses.count(429) == 40 - len(evaluated)
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)
    # Even the right password waits on the attacker's address...
    assert (
        await client.post(TOKEN, json={"email": OWNER, "password": PASSWORD}, headers=attacker)
    ).status_code == 429
    # ...while the owner, on their own device, signs in at once.
    owner = await client.post(
        TOKEN, json={"email": OWNER, "password": PASSWORD}, headers=_from("198.51.100.7")
    )
    assert owner.status_code == 200, owner.text


async def test_the_delay_doubles_then_the_attempt_is_evaluated_again(
    client: AsyncTestClient[Any], demo: Demo, settings: Settings, clock: MutableClock, evaluated: list[str],
    client_address: None,
) -> None:  # fmt: skip
    limit, base = settings.login_max_per_account, settings.login_delay_base_s
    here = _from("203.0.113.5")
    for n in range(limit):
        assert (
            await client.post(TOKEN, json={"email": OWNER, "password": f"x{n}"}, headers=here)
        ).status_code == 401
    blocked = await client.post(TOKEN, json={"email": OWNER, "password": "y"}, headers=here)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) == int(base)
    clock.advance(seconds=base)
    assert (await client.post(TOKEN, json={"email": OWNER, "password": "z"}, headers=here)).status_code == 401
    again = await client.post(TOKEN, json={"email": OWNER, "password": "w"}, headers=here)
    assert again.status_code == 429 and int(again.headers["retry-after"]) == int(2 * base)
    clock.advance(seconds=2 * base)
    ok = await client.post(TOKEN, json={"email": OWNER, "password": PASSWORD}, headers=here)
    assert ok.status_code == 200  # the right password after the wait; the count starts over
    assert len(evaluated) == limit + 2
    for n in range(limit):
        assert (
            await client.post(TOKEN, json={"email": OWNER, "password": f"v{n}"}, headers=here)
        ).status_code == 401


async def test_a_quiet_window_forgets_the_failures(
    client: AsyncTestClient[Any], demo: Demo, settings: Settings, clock: MutableClock, client_address: None
) -> None:
    here = _from("203.0.113.9")
    for n in range(settings.login_max_per_account):
        await client.post(TOKEN, json={"email": OWNER, "password": f"x{n}"}, headers=here)
    clock.advance(seconds=settings.login_window_s + settings.login_delay_max_s + 1)
    assert (
        await client.post(TOKEN, json={"email": OWNER, "password": PASSWORD}, headers=here)
    ).status_code == 200


async def test_spraying_many_accounts_from_one_address_is_slowed(
    client: AsyncTestClient[Any], demo: Demo, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    client_address: None,
) -> None:  # fmt: skip
    monkeypatch.setattr(settings, "login_max_per_ip", 6)
    here = _from("203.0.113.77")
    statuses = [
        (await client.post(TOKEN, json={"email": f"rep{n % 8 + 1}@demo.example", "password": "x"}, headers=here)).status_code
        for n in range(10)
    ]  # fmt: skip
    assert statuses[:6] == [401] * 6 and set(statuses[6:]) == {429}
    elsewhere = await client.post(
        TOKEN, json={"email": OWNER, "password": PASSWORD}, headers=_from("198.51.100.8")
    )
    assert elsewhere.status_code == 200


@pytest.mark.parametrize(
    "email",
    ["a" * 321 + "@demo.example", "rep1\x00@demo.example", "x" * 5000, "rep1@demo.example\x00"],
)
async def test_hostile_emails_are_4xx_on_the_api_and_the_form(
    client: AsyncTestClient[Any], demo: Demo, email: str
) -> None:
    api = await client.post(TOKEN, json={"email": email, "password": PASSWORD})
    assert 400 <= api.status_code < 500, api.text
    assert api.headers["content-type"].startswith("application/problem+json")
    token = await login_form_token(client)
    page = await client.post("/login", data={"email": email, "password": PASSWORD, "_csrf_token": token})
    assert 400 <= page.status_code < 500, page.text
    assert "fs_session" not in page.headers.get("set-cookie", "")


async def test_login_csrf_cross_origin_and_tokenless_posts_are_refused(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    form = {"email": OWNER, "password": PASSWORD, "next": "/"}
    tokenless = await client.post("/login", data=form, follow_redirects=False)
    assert tokenless.status_code == 403 and "fs_session" not in tokenless.headers.get("set-cookie", "")
    token = await login_form_token(client)
    forged = await client.post(
        "/login",
        data={**form, "_csrf_token": token},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    wrong = await client.post("/login", data={**form, "_csrf_token": "0" * 64}, follow_redirects=False)
    assert wrong.status_code == 403
    same_site = await client.post(
        "/login", data={**form, "_csrf_token": token}, headers={"Origin": "http://testserver.local"},
        follow_redirects=False,
    )  # fmt: skip
    assert same_site.status_code == 303


async def test_the_session_cookie_lives_as_long_as_the_server_session(
    client: AsyncTestClient[Any], demo: Demo, settings: Settings
) -> None:
    token = await login_form_token(client)
    response = await client.post(
        "/login", data={"email": OWNER, "password": PASSWORD, "_csrf_token": token}, follow_redirects=False
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("fs_session="))
    max_age = int(re.search(r"Max-Age=(\d+)", cookie, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    assert max_age == int(timedelta(days=settings.session_days).total_seconds())
    assert "expires=" not in cookie.lower() or "2083" not in cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
