"""Issue 24's must-show, in Chromium against a real server: an offline visit with two photos and
a filled visit form, the browser closed with everything still on the phone, reopened online.

An admin builds a form for the grade of the rep's first stop (a required number and a required
yes/no). The rep checks in offline, takes two camera photos, fills the form and checks out; the
browser (its persistent profile) is closed. Reopened online with the same profile, the outbox
syncs: the database holds exactly two visit_photos rows and one visit_form_answers row for the
check-in, the thumbnails are served, and the visit page shows both photos and the answers.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e import own_world
from tests.e2e.support import Browsing, LiveServer, screenshot, wait_until
from tests.e2e.test_photos_offline import QUEUED_PHOTOS, camera_photo, open_profile
from tests.e2e.test_rep_day_offline import (
    OUTBOX_EMPTY,
    STOPS_STORED,
    api,
    checkin_ids,
    open_stop,
    stand_at,
    stops_of,
    store_today,
)
from tests.e2e.test_visit_forms_browser import build_shelf_form

pytestmark = pytest.mark.e2e

# A server and browser of this module's own (tests/e2e/own_world.py): what its tests change must
# not reach other modules' reps.
live_server, browser, browsing = own_world.live_server, own_world.browser, own_world.browsing

REP = "rep1"
ALL_LOADED = """async () => [...document.querySelectorAll('[data-photos] img')]
  .every((i) => i.complete && i.naturalWidth > 0)"""


def answer_rows(
    server: LiveServer, checkin_id: uuid.UUID, form_id: uuid.UUID
) -> list[tuple[str, int | None]]:
    """The stored `values` and `photo_count` of one check-in's answers to one form."""
    connection = server.db()
    try:
        rows = connection.execute(
            'SELECT "values", photo_count FROM visit_form_answers WHERE checkin_id IN (?, ?, ?) AND form_id IN (?, ?, ?)',
            (checkin_id.bytes, checkin_id.hex, str(checkin_id), form_id.bytes, form_id.hex, str(form_id)),
        ).fetchall()
    finally:
        connection.close()
    return [(row[0], row[1]) for row in rows]


def test_offline_visit_with_two_photos_and_a_form_survives_closing_the_browser(
    playwright_driver: Any,
    chromium_path: str,
    browsing: Browsing,
    live_server: LiveServer,
    tmp_path: Path,
) -> None:
    profile = tmp_path / "phone"
    errors: list[str] = []
    context = open_profile(playwright_driver, chromium_path, live_server, profile)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        store_today(page, REP)
        stop = stops_of(page)[0]
        grade = stop["customer"]["grade"]
        assert grade, stop

        # The admin assigns the form to the grade of that customer only.
        admin = build_shelf_form(browsing, grades=(grade,), photo_question=True)
        forms = api(admin, "/api/v1/visit-forms")
        forms = forms["items"] if isinstance(forms, dict) else forms
        (form,) = [f for f in forms if f["name"] == "Shelf check"]
        assert form["grades"] == [grade]

        # Today opened online again: the check-in shell saved on the phone now carries the form.
        page.reload()
        wait_until(page, STOPS_STORED)
        before = checkin_ids(page, stop["customer_id"])

        stand_at(page, stop)
        page.context.set_offline(True)
        open_stop(page, stop)
        page.get_by_role("button", name="Check in here").click()
        expect(page.get_by_text("Checked in on this phone — waiting to sync")).to_be_visible()
        checkin_id = page.locator("form[data-checkout-form]").get_attribute("data-checkin-id")
        assert checkin_id

        photos = page.locator("[data-step='visit'] [data-photos]")
        camera = photos.locator("input[type='file'][capture='environment'][accept='image/*']")
        for number, shade in enumerate((40, 220), start=1):
            camera.set_input_files(
                [{"name": f"IMG_000{number}.jpg", "mimeType": "image/jpeg", "buffer": camera_photo(shade)}]
            )
            expect(photos.locator("li.photo.is-waiting")).to_have_count(number)

        visit_form = page.locator("[data-visit-form]:visible")
        expect(visit_form).to_have_count(1)
        expect(visit_form).to_have_attribute("data-form-id", form["id"])
        expect(visit_form).to_have_attribute("data-grades", grade)  # served by the offline shell
        expect(visit_form.get_by_role("heading", name="Shelf check")).to_be_visible()
        visit_form.get_by_label("Shelf facings").fill("14")
        visit_form.locator("[data-key='promo_visible']").get_by_label("Yes").check()
        page.get_by_label("No decision").check()
        visit_form.scroll_into_view_if_needed()
        screenshot(page, "rep-visit-evidence-offline-360")
        shelf_photo = visit_form.locator("[data-key='shelf_photo']")
        expect(shelf_photo).to_contain_text("Answered by the photos taken at this visit.")
        shelf_photo.scroll_into_view_if_needed()
        screenshot(page, "rep-visit-evidence-photo-question-360")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        page.get_by_role("button", name="Check out").click()
        expect(page.get_by_role("heading", name="Checked out")).to_be_visible()

        queued = page.evaluate(QUEUED_PHOTOS)
        assert len(queued) == 2 and all(q["size"] <= 300 * 1024 for q in queued), queued
        urls = page.evaluate("async () => (await window.FieldsalesOutboxCore.all()).map((r) => r.url)")
        assert urls[0] == "/api/v1/checkins" and urls[-1].endswith("/checkout"), urls
        assert len(urls) == 4 and all(u.endswith("/photos") for u in urls[1:3]), urls
    finally:
        context.close()  # the browser is closed with the whole visit still on the phone
    assert errors == []

    context = open_profile(playwright_driver, chromium_path, live_server, profile)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto("/")  # opening the app replays the outbox
        wait_until(page, OUTBOX_EMPTY)
        new = [c for c in api(page, f"/api/v1/checkins?customer_id={stop['customer_id']}&limit=500")
               if c["id"] not in before]  # fmt: skip
        assert [c["id"] for c in new] == [checkin_id]
        record = api(page, f"/api/v1/checkins/{checkin_id}")
        assert record["status"] == "completed" and record["outcome"] == "no_decision"

        # In the database: two photos, one set of answers with the values typed.
        visit = uuid.UUID(checkin_id)
        assert live_server.count_rows("visit_photos", "checkin_id", visit) == 2
        stored_answers = answer_rows(live_server, visit, uuid.UUID(form["id"]))
        assert len(stored_answers) == 1, stored_answers
        values, photo_count = json.loads(stored_answers[0][0]), stored_answers[0][1]
        assert photo_count == 2  # the photo question answered by the two photos taken
        assert values["shelf_facings"] == 14 and values["promo_visible"] is True, values
        assert values.get("competitor") in (None, ""), values

        stored = api(page, f"/api/v1/checkins/{checkin_id}/photos")
        assert len(stored) == 2, stored
        for photo in stored:
            thumb = page.request.get(photo["thumbnail_url"])
            assert thumb.status == 200 and thumb.headers["content-type"].startswith("image/"), thumb

        page.goto(f"/checkins/{checkin_id}")
        shown = page.locator("[data-photos] [data-role='photo-list'] img")
        expect(shown).to_have_count(2)
        expect(page.locator("[data-photos] .is-waiting")).to_have_count(0)
        assert sorted(shown.nth(i).get_attribute("src") for i in range(2)) == sorted(
            p["thumbnail_url"] for p in stored
        )
        wait_until(page, ALL_LOADED)
        expect(page.locator("[data-answer='shelf_facings']")).to_have_text("14 facings")
        expect(page.locator("[data-answer='promo_visible']")).to_have_text("Yes")
        expect(page.locator("[data-answer='shelf_photo']")).to_have_text("2 photos")
        screenshot(page, "rep-visit-evidence-synced-360")
        page.locator("[data-answer='shelf_facings']").scroll_into_view_if_needed()
        screenshot(page, "rep-visit-evidence-answers-360")

        # A second replay of whatever the phone sent stores nothing more.
        page.evaluate("window.fieldsalesOutbox.flush()")
        assert live_server.count_rows("visit_photos", "checkin_id", visit) == 2
        assert live_server.count_rows("visit_form_answers", "checkin_id", visit) == 1
    finally:
        context.close()
    assert errors == []
