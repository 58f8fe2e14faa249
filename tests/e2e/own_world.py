"""A server and browser of a module's own, on the small checkins world (4 reps, 40 customers).

For browser modules whose tests change what other modules' reps would see (forms assigned,
offline visits): `live_server, browser, browsing = own_world.live_server, ...` at module level
overrides the package's fixtures for that module (module scope: one server per module).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import test_checkins_browser as checkins_browser
from tests.e2e.support import Browsing, LiveServer


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from checkins_browser.live_server.__wrapped__(tmp_path_factory)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def browser(playwright_driver: Any, live_server: LiveServer) -> Iterator[Any]:
    yield from checkins_browser.browser.__wrapped__(playwright_driver, live_server)  # type: ignore[attr-defined]


@pytest.fixture
def browsing(browser: Any, live_server: LiveServer) -> Iterator[Browsing]:
    session = Browsing(browser, live_server)
    yield session
    session.close()
