"""A flash message (Post/Redirect/Get) is consumed only by the response that shows it: a
background request crossing the redirect (the inbox badge's poll, the service worker precaching
the offline page) must not take it from the page the user lands on."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.testing import AsyncTestClient

from server.core.templates import FLASH_COOKIE, flash
from tests.conftest import Demo, login_session


def flash_cookie(message: str) -> str:
    response: Response[Any] = Response(content=None)
    flash(response, "success", message)
    return str(response.cookies[0].value)


def deletes_flash(response: Any) -> bool:
    return any(value.startswith(f"{FLASH_COOKIE}=") for value in response.headers.get_list("set-cookie"))


async def test_only_the_page_that_shows_a_flash_consumes_it(client: AsyncTestClient[Any], demo: Demo) -> None:
    await login_session(client, "rep1")
    client.cookies.set(FLASH_COOKIE, flash_cookie("Plan approved."))

    badge = await client.get("/inbox/badge", headers={"HX-Request": "true", "Sec-Fetch-Dest": "empty"})
    assert badge.status_code == 200 and not deletes_flash(badge)

    precache = await client.get("/offline", headers={"Sec-Fetch-Dest": "empty"})
    assert precache.status_code == 200 and not deletes_flash(precache)
    assert "Plan approved." not in precache.text, "a precached page must not keep a flash"

    page = await client.get("/inbox", headers={"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"})
    assert "Plan approved." in page.text and deletes_flash(page)


async def test_an_htmx_request_shows_and_consumes_the_flash(client: AsyncTestClient[Any], demo: Demo) -> None:
    await login_session(client, "rep1")
    client.cookies.set(FLASH_COOKIE, flash_cookie("Comment added."))
    fragment = await client.get("/inbox", headers={"HX-Request": "true", "Sec-Fetch-Dest": "empty"})
    assert 'hx-swap-oob="innerHTML"' in fragment.text and "Comment added." in fragment.text
    assert deletes_flash(fragment)


async def test_a_fragment_without_a_message_leaves_the_pages_message_alone(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    """A section that loads after its page (the weekly review's funnel, hx-trigger "load") is an
    htmx fragment: with no message of its own it sends no flash region, whose empty out-of-band
    swap would wipe the "Plan approved." the page has just shown."""
    await login_session(client, "manager1")
    fragment = await client.get("/inbox", headers={"HX-Request": "true", "Sec-Fetch-Dest": "empty"})
    assert fragment.status_code == 200 and "<title>" in fragment.text  # a fragment of a page
    assert 'id="flashes"' not in fragment.text and not deletes_flash(fragment)


async def test_the_service_workers_own_fetch_of_a_page_shows_and_consumes_the_flash(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    """Without a navigation preload response the worker fetches the page itself: no document
    destination, but marked as a page load (web/static/sw.js), so the page the user lands on after
    a post says what happened instead of a later page saying it."""
    await login_session(client, "rep1")
    client.cookies.set(FLASH_COOKIE, flash_cookie("Plan approved."))
    page = await client.get("/inbox", headers={"Sec-Fetch-Dest": "empty", "X-Fieldsales-Page": "1"})
    assert "Plan approved." in page.text and deletes_flash(page)
