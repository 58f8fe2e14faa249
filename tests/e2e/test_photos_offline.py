"""Visit photos offline, in Chromium against a real server (issue 24).

A rep checks in offline, takes two photos and checks out; the browser is closed with everything
still on the phone. Opened again online (the same profile, so the same IndexedDB), the outbox
sends the check-in, both photos and the check-out: exactly two photos are stored, their
thumbnails are served, and the visit and customer pages show them.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFilter
from playwright.sync_api import expect

from tests.e2e.support import (
    CHROMIUM_ARGS,
    PHONE,
    TIMEOUT_MS,
    Browsing,
    LiveServer,
    screenshot,
    sign_in,
    wait_until,
)
from tests.e2e.test_rep_day_offline import (
    OUTBOX_EMPTY,
    open_stop,
    stand_at,
    stops_of,
    store_today,
)

pytestmark = pytest.mark.e2e

SHANGHAI = "Asia/Shanghai"
LAPTOP = {"width": 1366, "height": 768}
REP = "rep5"  # no other browser test visits as rep5 on the package's server
QUEUED_PHOTOS = """async () => (await window.FieldsalesOutboxCore.all())
  .filter((r) => r.meta && r.meta.kind === "photo")
  .map((r) => ({group: r.group, size: r.body.photo.size, type: r.body.photo.type}))"""
PHOTO_SIDES = """async () => Promise.all((await window.FieldsalesOutboxCore.all())
  .filter((r) => r.meta && r.meta.kind === "photo")
  .map(async (r) => { const b = await createImageBitmap(r.body.photo); return [b.width, b.height]; }))"""


def camera_photo(shade: int) -> bytes:
    """A 3000x2000 JPEG with noise, as a phone camera would hand over (well above 300 KB)."""
    image = Image.effect_noise((3000, 2000), 40).convert("RGB").filter(ImageFilter.GaussianBlur(3))
    image.paste((shade, 90, 160), (0, 0, 1500, 1000))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def open_profile(playwright_driver: Any, chromium_path: str, server: LiveServer, profile: Path) -> Any:
    context = playwright_driver.chromium.launch_persistent_context(
        str(profile),
        executable_path=chromium_path,
        args=CHROMIUM_ARGS,
        base_url=server.url,
        viewport=PHONE,
        screen=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
        timezone_id=SHANGHAI,
        permissions=["geolocation"],
        geolocation={"latitude": 0, "longitude": 0, "accuracy": 15},
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def test_offline_visit_with_two_photos_survives_closing_the_browser(
    playwright_driver: Any, chromium_path: str, live_server: LiveServer, tmp_path: Path
) -> None:
    profile = tmp_path / "phone"
    errors: list[str] = []
    context = open_profile(playwright_driver, chromium_path, live_server, profile)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        store_today(page, REP)
        stop = stops_of(page)[0]
        before = {
            c["id"] for c in page.request.get(f"/api/v1/checkins?customer_id={stop['customer_id']}").json()
        }

        stand_at(page, stop)
        page.context.set_offline(True)
        open_stop(page, stop)
        page.get_by_role("button", name="Check in here").click()
        expect(page.get_by_text("Checked in on this phone — waiting to sync")).to_be_visible()
        photos = page.locator("[data-step='visit'] [data-photos]")
        expect(photos.get_by_text("Take a photo")).to_be_visible()
        camera = photos.locator("input[type='file'][capture='environment'][accept='image/*']")
        for number, shade in enumerate((40, 220), start=1):
            camera.set_input_files(
                [{"name": f"IMG_000{number}.jpg", "mimeType": "image/jpeg", "buffer": camera_photo(shade)}]
            )
            expect(photos.locator("li.photo.is-waiting")).to_have_count(number)
        expect(photos.locator("li.photo").first).to_contain_text("Waiting to sync")
        photos.scroll_into_view_if_needed()
        screenshot(page, "rep-visit-photos-offline-360")
        page.get_by_label("No decision").check()
        assert page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth && window.innerWidth <= 360"
        )
        page.get_by_role("button", name="Check out").click()
        expect(page.get_by_role("heading", name="Checked out")).to_be_visible()

        queued = page.evaluate(QUEUED_PHOTOS)
        assert len(queued) == 2, queued
        assert all(q["type"] == "image/jpeg" and q["size"] <= 300 * 1024 for q in queued), queued
        assert len({q["group"] for q in queued}) == 1  # behind the visit's check-in
        assert sorted(max(side) for side in page.evaluate(PHOTO_SIDES)) == [1600, 1600]
        kinds = page.evaluate("async () => (await window.FieldsalesOutboxCore.all()).map((r) => r.url)")
        assert kinds[0] == "/api/v1/checkins" and kinds[-1].endswith("/checkout"), kinds
        assert [k.endswith("/photos") for k in kinds[1:3]] == [True, True], kinds
    finally:
        context.close()  # the browser is closed with the visit still on the phone
    assert errors == []

    context = open_profile(playwright_driver, chromium_path, live_server, profile)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto("/")  # opening the app replays the outbox
        wait_until(page, OUTBOX_EMPTY)
        checkins = page.request.get(f"/api/v1/checkins?customer_id={stop['customer_id']}").json()
        (visit,) = [c for c in checkins if c["id"] not in before]
        assert visit["status"] == "completed" and visit["outcome"] == "no_decision"
        stored = page.request.get(f"/api/v1/checkins/{visit['id']}/photos").json()
        assert len(stored) == 2, stored
        assert live_server.count_rows("visit_photos", "checkin_id", uuid.UUID(visit["id"])) == 2
        for photo in stored:
            assert max(photo["width"], photo["height"]) == 1600
            assert photo["geo_status"] == "verified" and photo["lat"] is not None
            thumb = page.request.get(photo["thumbnail_url"])
            assert thumb.status == 200 and thumb.headers["content-type"] == "image/jpeg"
            assert max(Image.open(io.BytesIO(thumb.body())).size) == 320

        page.goto(f"/checkins/{visit['id']}")
        shown = page.locator("[data-photos] [data-role='photo-list'] img")
        expect(shown).to_have_count(2)
        expect(page.locator("[data-photos] .is-waiting")).to_have_count(0)
        sources = sorted(shown.nth(i).get_attribute("src") for i in range(2))
        assert sources == sorted(p["thumbnail_url"] for p in stored)
        wait_until(
            page,
            "async () => [...document.querySelectorAll('[data-photos] img')].every((i) => i.complete && i.naturalWidth > 0)",
        )
        screenshot(page, "rep-visit-photos-synced-360")

        page.goto(f"/customers/{stop['customer_id']}")
        history = page.locator(".photo-history img")
        expect(history).to_have_count(2)
        screenshot(page, "rep-customer-photos-360")
        # A replay of the same uploads (a lost answer) stores nothing more.
        assert (
            json.loads(json.dumps(stored))
            == page.request.get(f"/api/v1/checkins/{visit['id']}/photos").json()
        )
    finally:
        context.close()
    assert errors == []


def test_a_manager_reviews_and_deletes_a_photo_on_the_rep_day(
    browsing: Browsing, live_server: LiveServer
) -> None:
    """Laptop size, in Chinese: the rep's visit with its photo on the manager's rep-day page."""
    rep = browsing.new_page(permissions=["geolocation"], geolocation={"latitude": 0, "longitude": 0})
    sign_in(rep, "rep6")
    me = rep.request.get("/api/v1/me").json()
    customer = next(
        c for c in rep.request.get("/api/v1/customers?page_size=50").json()["items"] if c["lat"] is not None
    )
    csrf = {"X-CSRF-Token": rep.locator("meta[name='csrf-token']").get_attribute("content")}
    checkin_id = str(uuid.uuid4())
    body = {"id": checkin_id, "customer_id": customer["id"], "checked_in_at": rep.evaluate("new Date().toISOString()"),
            "lat": customer["lat"], "lng": customer["lng"], "accuracy_m": 10}  # fmt: skip
    assert rep.request.post("/api/v1/checkins", data=body, headers=csrf).status == 201
    photo = rep.request.post(
        f"/api/v1/checkins/{checkin_id}/photos",
        multipart={"id": str(uuid.uuid4()), "photo": {"name": "shelf.jpg", "mimeType": "image/jpeg", "buffer": camera_photo(90)}},
        headers=csrf,
    )  # fmt: skip
    assert photo.status == 201, photo.text()

    admin = browsing.new_page()
    sign_in(admin, "admin")
    users = admin.request.get("/api/v1/users?limit=500").json()
    users = users["items"] if isinstance(users, dict) else users
    mine = next(u for u in users if u["id"] == me["id"])
    boss = next(u for u in users if u["role"] == "manager" and u["org_unit_id"] == mine["org_unit_id"])
    day = admin.evaluate(
        "(tz) => new Intl.DateTimeFormat('en-CA', {timeZone: tz}).format(new Date())", mine["timezone"]
    )

    laptop = browsing.browser.new_context(
        base_url=live_server.url,
        viewport=LAPTOP,
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN"},
    )
    browsing.contexts.append(laptop)
    laptop.set_default_timeout(TIMEOUT_MS)
    manager = laptop.new_page()
    manager_errors: list[str] = []
    manager.on("pageerror", lambda error: manager_errors.append(str(error)))
    sign_in(manager, boss["email"].split("@")[0])
    manager.goto(f"/team/reps/{me['id']}/day?date={day}")
    section = manager.locator("section[aria-labelledby='visit-photos-title']")
    expect(section.get_by_role("heading", name="拜访照片")).to_be_visible()
    thumb = section.locator(f"img[src='/api/v1/photos/{photo.json()['id']}/thumbnail']")
    expect(thumb).to_have_count(1)
    wait_until(
        manager,
        "async () => [...document.querySelectorAll('.photo img')].every((i) => i.complete && i.naturalWidth > 0)",
    )
    section.locator("details.photo-delete summary").click()
    screenshot(manager, "manager-rep-day-photos-1366-zh")
    manager.on("dialog", lambda dialog: dialog.accept())
    section.get_by_label("原因").fill("照片里有顾客的脸")
    section.get_by_role("button", name="删除照片").click()
    expect(manager.get_by_text("照片已删除。")).to_be_visible()
    expect(manager.locator(f"img[src='/api/v1/photos/{photo.json()['id']}/thumbnail']")).to_have_count(0)
    assert rep.request.get(f"/api/v1/checkins/{checkin_id}/photos").json() == []
    assert manager_errors == [] and browsing.problems_of(rep) == []
