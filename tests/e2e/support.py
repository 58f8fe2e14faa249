"""Helpers for the browser tests (the fixtures that use them are in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.core.security import SESSION_COOKIE
from tests.conftest import demo_email, issue_token

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 740}
DEMO_PASSWORD = "fieldsales-demo"
# Role -> demo login (the e-mail's local part). Any other name is used as the login itself.
LOGINS = {"rep": "rep1", "manager": "manager1", "executive": "exec", "admin": "admin"}
TIMEOUT_MS = 20_000  # generous: the machine is shared, and a cold Chromium is slow
SERVER_START_S = 120
E2E_SECRET_KEY = "e2e-secret-key-not-for-production"


# ---- The server ----


@dataclass
class LiveServer:
    url: str
    db_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def db(self) -> sqlite3.Connection:
        """A read-only connection to the server's database file (for server-side assertions)."""
        return sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)

    def count_rows(self, table: str, column: str, value: uuid.UUID) -> int:
        """Rows whose UUID column equals `value`, whatever the storage (16 bytes, hex, text)."""
        connection = self.db()
        try:
            (count,) = connection.execute(
                f"SELECT count(*) FROM {table} WHERE {column} IN (?, ?, ?)",
                (value.bytes, value.hex, str(value)),
            ).fetchone()
        finally:
            connection.close()
        return int(count)

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        pytest.fail(f"the server did not answer /healthz within {SERVER_START_S} s:\n{self.log_tail()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(db_path: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{db_path}",
        SECRET_KEY=E2E_SECRET_KEY,
        HOST="127.0.0.1",
        PORT=str(port),
        SCHEDULER="false",
        COOKIE_SECURE="false",  # plain http on 127.0.0.1
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        EVIDENCE_DIR=str(db_path.parent / "evidence"),  # photos beside the test database
    )
    return env


# ---- The browser ----

# The server each open context talks to (id of the context -> server), for `sign_in`.
SERVER_OF: dict[int, LiveServer] = {}


@dataclass
class PageProblems:
    """What a page reported that a user would never see: uncaught errors, CSP violations."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.errors.append(f"CSP: {message.text}")


@dataclass
class Browsing:
    """The contexts a test opened (closed after it); hands out phone-sized pages."""

    browser: Any
    server: LiveServer
    contexts: list[Any] = field(default_factory=list)
    problems: dict[int, PageProblems] = field(default_factory=dict)

    def new_context(
        self, *, locale: str = "en-US", permissions: list[str] | None = None, **options: Any
    ) -> Any:
        context = self.browser.new_context(
            base_url=self.server.url,
            viewport=PHONE,
            screen=PHONE,
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
            locale=locale,
            extra_http_headers={"Accept-Language": locale},
            permissions=permissions or [],
            **options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        SERVER_OF[id(context)] = self.server
        return context

    def new_page(self, **context_options: Any) -> Any:
        page = self.new_context(**context_options).new_page()
        watcher = PageProblems()
        watcher.watch(page)
        self.problems[id(page)] = watcher
        return page

    def problems_of(self, page: Any) -> list[str]:
        return self.problems[id(page)].errors

    def close(self) -> None:
        for context in self.contexts:
            SERVER_OF.pop(id(context), None)
            try:
                context.close()
            except Exception:  # already closed by the test, or its browser crashed
                pass


def sign_in(page: Any, login: str) -> None:
    """Open the app signed in as `login` on the landing page: a session minted in the server's
    database and set as the browser's cookie, as the sign-in form's answer sets it (a demo login
    or an e-mail). The form itself, with its argon2 check, is driven by `sign_in_through_form`
    (test_roles); here every page saves that ~1 s of browser and server CPU."""
    server = SERVER_OF.get(id(page.context))
    if server is None:  # a context made outside Browsing (a laptop beside the phone): its server
        # is not known here, so it signs in through the form
        sign_in_through_form(page, login)
        return
    token, expires_at = mint_session(server, demo_email(login))
    page.context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": token,
                "url": server.url,
                "httpOnly": True,
                "sameSite": "Lax",
                "expires": expires_at.timestamp(),
            }
        ]
    )
    response = page.goto("/", wait_until="load")
    if response is None or page.url.split("?")[0].endswith("/login"):
        pytest.fail(f"the minted session of {login} was not accepted: {page.url}")
    # Through the form, the sign-in page installed the service worker before the landing page
    # loaded; a test starts, as then, on a landing page the worker controls.
    wait_controlled(page)


def sign_in_through_form(page: Any, login: str) -> None:
    """Sign in through the real form, as a user would, and wait for the landing page."""
    page.goto("/login")
    page.fill('input[name="email"]', demo_email(login))
    page.fill('input[name="password"]', DEMO_PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.locator('form:has(input[name="password"]) button[type="submit"]').click()
    if page.url.split("?")[0].endswith("/login"):
        message = page.locator(".form-error, .field-error").all_text_contents()
        pytest.fail(f"signing in as {login} failed: {message}")


def mint_session(server: LiveServer, email: str) -> tuple[str, datetime]:
    """A session token issued on the live server's database (`issue_token`, as the integration
    tests mint theirs); the server reads it on the next request (SQLite keeps no token cache)."""
    import asyncio

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from server.clock import Clock
    from server.config import Settings
    from server.db.engine import create_engine

    async def issue() -> tuple[str, datetime]:
        settings = Settings(
            DATABASE_URL=f"sqlite+aiosqlite:///{server.db_path}",
            SECRET_KEY=E2E_SECRET_KEY,
            SCHEDULER=False,
            _env_file=None,  # type: ignore[call-arg]
        )
        engine = create_engine(settings)
        try:
            sessions = async_sessionmaker(engine, expire_on_commit=False)
            issued = await issue_token(sessions, settings, Clock(), email, "session")
            return issued.token, issued.expires_at
        finally:
            await engine.dispose()

    # Playwright's sync API runs an event loop on this thread: the issue runs on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, issue()).result(timeout=60)


SW_ACTIVE = "async () => (await navigator.serviceWorker.ready).active.state === 'activated'"
SW_CONTROLS = "() => Boolean(navigator.serviceWorker.controller)"


def wait_controlled(page: Any) -> None:
    """Wait until the service worker is active and controls `page`. A page whose navigation was
    under way while the worker installed stays uncontrolled (its activation's claim came before
    the page was a client), until it is loaded again: as a user's next page would be."""
    wait_until(page, SW_ACTIVE)
    if not page.evaluate(SW_CONTROLS):
        page.reload()
    wait_until(page, SW_CONTROLS)


def screenshot(page: Any, name: str) -> Path:
    """Save a viewport screenshot under test-artifacts/screenshots/ (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    return path


# The phone's outbox is empty. A page that has just navigated may not have run app.js yet, so no
# outbox is "not yet", not an error: wait_until polls again.
OUTBOX_EMPTY = "async () => Boolean(window.fieldsalesOutbox) && (await window.fieldsalesOutbox.count()) === 0"


def wait_until(page: Any, predicate: str, arg: Any = None, timeout_ms: int = TIMEOUT_MS) -> Any:
    """Poll an async JS function `(arg) => value` in the page until it returns something truthy.

    page.wait_for_function compiles its string with `new Function`, which the app's CSP (no
    'unsafe-eval') refuses; page.evaluate goes through the DevTools protocol and is allowed, so
    the predicate is spliced into the evaluated source instead.
    """
    return page.evaluate(
        f"""async ([arg, timeout]) => {{
            const check = {predicate};
            const end = Date.now() + timeout;
            for (;;) {{
                const value = await check(arg);
                if (value) return value;
                if (Date.now() > end) throw new Error("timed out after " + timeout + " ms: " + {json.dumps(predicate)});
                await new Promise((resolve) => setTimeout(resolve, 50));
            }}
        }}""",
        [arg, timeout_ms],
    )


def flush_outbox(page: Any) -> None:
    """Replay the phone's outbox now, as the app does when it comes back online. Back online, the
    app replays by itself too, and a visit page whose check-out has reached the server then moves
    to the server's view of it: a navigation that may cut this call short, which is no failure
    (the caller checks the outcome)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        page.evaluate("window.fieldsalesOutbox.flush()")
    except PlaywrightError as error:
        if "Execution context was destroyed" not in str(error):
            raise


def keep_reps_in_daylight(db_path: Path) -> None:
    """Move each seeded rep whose local time is now outside 07:00-17:00 into a fixed-offset zone
    where it is about noon. The demo puts some reps in Los Angeles; between 08:00 and 14:00 UTC
    it is night there, Today has no plan due before 06:00 local (as it should), and a browser
    test run at that hour would find no stops. Reps in daylight keep their zone."""
    now = datetime.now(UTC)
    offset = 12 - now.hour
    offset = offset - 24 if offset > 14 else offset + 24 if offset < -12 else offset
    noon_zone = "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-4 is UTC+4
    with sqlite3.connect(db_path) as db:
        reps = db.execute("SELECT id, timezone FROM users WHERE role = 'rep'").fetchall()
        for rep_id, zone in reps:
            if not 7 <= now.astimezone(ZoneInfo(zone)).hour < 17:
                db.execute("UPDATE users SET timezone = ? WHERE id = ?", (noon_zone, rep_id))


# seed-demo arguments -> a seeded database file of this run, copied for each module that asks
# for the same world (seeding is a process start, the migrations and the seed: seconds each).
_SEEDED: dict[tuple[str, ...], Path] = {}


def seeded_live_server(workdir: Path, *seed_args: str) -> Iterator[LiveServer]:
    """A server of its own on a demo seeded with `seed_args` (English pages), stopped afterwards.

    For browser modules that need a world of a particular size rather than the package's server.
    Modules asking for the same world get a copy of the first one's freshly seeded database.
    """
    import sys

    db_path, port = workdir / "fieldsales.db", free_port()
    env = server_env(db_path, port)
    log_path = workdir / "server.log"
    # Started first, to boot while the seed runs (as the package's live_server): with
    # --skip-prepare and no scheduler it opens no database connection before a request arrives.
    command = [sys.executable, "-m", "server", "run", "--skip-prepare", "--port", str(port), "--no-scheduler"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", db_path, log_path, process)
    try:
        template = _SEEDED.get(seed_args)
        if template is None:
            seed = [sys.executable, "-m", "server", "seed-demo", *seed_args, "--english"]
            done = subprocess.run(
                seed, cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False
            )
            assert done.returncode == 0, done.stderr[-3000:]
            with sqlite3.connect(db_path) as db:  # fold the WAL into the file before copying it
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            template = _SEEDED[seed_args] = workdir.parent / f"seeded-{len(_SEEDED)}.db"
            shutil.copyfile(db_path, template)
        else:  # the same world as an earlier module's: a copy, not a second seed-demo run
            shutil.copyfile(template, db_path)
        keep_reps_in_daylight(db_path)
        server.wait_healthy()
        yield server
    finally:
        server.stop()
