"""Browser tests: one real server process and one Chromium for the whole e2e package.

The integration fixtures (tests/conftest.py) use in-process clients; a service worker, an
IndexedDB outbox and a push event need a real browser talking to a real server. So:

- `live_server`: a fresh SQLite file, `python -m server seed-demo` into it, then
  `python -m server run --skip-prepare --no-scheduler` on a free port (stopped at the end);
- `browser`: Debian's Chromium (/usr/bin/chromium) through Python Playwright. Never
  `playwright install`: it downloads, and fails on this machine. A missing Chromium is a
  FAILURE, never a skip (`make chromium`, run by `make test`, installs it);
- `page_as("rep")`: a new 360×740 phone context, signed in with a session minted in the
  server's database (`sign_in`; test_roles drives the real login form for every role).

Package scope (not session): the browser and the server go away as soon as the last e2e test
has run, before the async integration tests start their own event loops.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOGINS,
    TIMEOUT_MS,
    Browsing,
    LiveServer,
    free_port,
    keep_reps_in_daylight,
    server_env,
    sign_in,
)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is an e2e test (`-m "not e2e"` leaves the browser out), and
    runs on one pytest-xdist worker (GROUPED_PACKAGES in tests/conftest.py; the xdist_group mark
    says the same): the live server, its seed and Chromium are package-scoped, so the package
    is started once, not once per worker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("e2e-server")
    db_path = workdir / "fieldsales.db"
    port = free_port()
    env = server_env(db_path, port)
    # cwd = the temp dir: a developer's ./.env (say, a PostgreSQL DATABASE_URL) must not leak in.
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        # Started first, to boot while the seed runs: with --skip-prepare and no scheduler it opens
        # no database connection until a request arrives, and none comes before the seed is done.
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "run", "--skip-prepare", "--port", str(port), "--no-scheduler"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", db_path, log_path, process)
    try:
        seed = subprocess.run(
            [
                sys.executable,
                "-m",
                "server",
                "seed-demo",
                "--reps",
                "8",
                "--customers",
                "120",
                "--months",
                "3",
                "--english",  # the browser tests read English pages; test_i18n asks for Chinese
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if seed.returncode != 0:
            pytest.fail(
                f"seed-demo failed ({seed.returncode}):\n{seed.stdout[-2000:]}\n{seed.stderr[-4000:]}"
            )
        keep_reps_in_daylight(db_path)
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def chromium_path() -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the browser tests need Debian's Chromium. "
            "Install it with `make chromium` (or `apt-get update && apt-get install -y chromium`). "
            "Do NOT run `playwright install`.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(playwright_driver: Any, chromium_path: str, live_server: LiveServer) -> Iterator[Any]:
    # Depends on live_server so that the browser (and its keep-alive connections) closes first.
    browser = playwright_driver.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def browsing(browser: Any, live_server: LiveServer) -> Iterator[Browsing]:
    session = Browsing(browser, live_server)
    yield session
    session.close()


@pytest.fixture
def page_as(browsing: Browsing) -> Callable[..., Any]:
    """`page = page_as("rep")` (or "manager", "executive", "admin", or a login such as "rep2"):
    a 360×740 phone context signed in (a minted session, see `sign_in`). Context options pass through,
    e.g. `page_as("rep", locale="zh-CN", permissions=["notifications"])`."""

    def open_page(role: str, **context_options: Any) -> Any:
        page = browsing.new_page(**context_options)
        sign_in(page, LOGINS.get(role, role))
        return page

    return open_page


@pytest.fixture
def new_page(browsing: Browsing) -> Callable[..., Any]:
    """A signed-out phone page (the login screen, say)."""
    return browsing.new_page
