"""Behind a reverse proxy: forwarded headers are believed from FORWARDED_ALLOW_IPS only.

A real `fieldsales run` (uvicorn) with FORWARDED_ALLOW_IPS=127.0.0.1. The "proxy" connects from
127.0.0.1; an unknown host is simulated by connecting from 127.0.0.2 (Linux routes all of
127/8 to loopback). From the proxy, `X-Forwarded-Proto: https` makes cookies Secure and adds HSTS,
and the throttle counts the client address it forwards; from anyone else the same headers are
ignored (no Secure, no HSTS, and a forged X-Forwarded-For does not escape the throttle).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.resilience.support import PASSWORD, PY, app_env, quiet_port, wait_http

pytestmark = pytest.mark.resilience

PROXY, STRANGER = "127.0.0.1", "127.0.0.2"


def _client(base: str, source: str) -> httpx.Client:
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=source), timeout=30)


def _sign_in(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    page = client.get("/login", headers=headers)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    # The browser talks https to the proxy and sends the (Secure) nonce cookie back; this client
    # talks plain http to the app, so it sends the cookie itself.
    nonce = re.search(r"fs_login=([^;]+)", page.headers["set-cookie"])
    assert nonce, page.headers["set-cookie"]
    client.cookies.clear()
    return client.post(
        "/login",
        data={"email": "rep2@demo.example", "password": PASSWORD, "_csrf_token": token.group(1)},
        headers={**headers, "Cookie": f"fs_login={nonce.group(1)}"},
        follow_redirects=False,
    )


def _guesses(client: httpx.Client, forwarded_for: str, count: int) -> list[int]:
    body = {"email": "rep1@demo.example", "password": "wrong"}
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"}
    return [client.post("/api/v1/auth/token", json=body, headers=headers).status_code for _ in range(count)]


def test_forwarded_headers_are_believed_from_the_proxy_only(sqlite_db: str, tmp_path: Path) -> None:
    port = quiet_port()
    env = app_env(sqlite_db, port, FORWARDED_ALLOW_IPS=PROXY)
    env.pop("COOKIE_SECURE")  # decided by the scheme the proxy reports
    log = (tmp_path / "app.log").open("wb")
    process = subprocess.Popen(
        [PY, "-m", "server", "run", "--skip-prepare", "--no-scheduler", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/readyz", process)
        https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.50"}
        with _client(base, PROXY) as proxy, _client(base, STRANGER) as stranger:
            trusted = _sign_in(proxy, https)
            assert trusted.status_code == 303
            assert "secure" in trusted.headers["set-cookie"].lower(), trusted.headers["set-cookie"]
            assert "max-age=31536000" in trusted.headers["strict-transport-security"]

            forged = _sign_in(stranger, https)
            assert forged.status_code == 303
            assert "secure" not in forged.headers["set-cookie"].lower()
            assert "strict-transport-security" not in forged.headers

            # The proxy's clients are throttled each by their own address...
            assert _guesses(proxy, "203.0.113.50", 5) == [401] * 5
            assert _guesses(proxy, "203.0.113.50", 1) == [429]
            assert _guesses(proxy, "198.51.100.9", 1) == [401]
            # ...while a stranger's forged X-Forwarded-For changes nothing: it is still 127.0.0.2.
            assert _guesses(stranger, "192.0.2.1", 5) == [401] * 5
            assert _guesses(stranger, "192.0.2.2", 1) == [429]
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
