"""A refused card change comes back in its own form (issue 17): the typed date kept, the message
next to it and the field focused, instead of an error at the top and an empty field."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from tests.conftest import Demo, login_session
from tests.integration.tasks.test_tasks_pages import forms_of


async def test_a_refused_move_keeps_the_typed_date_next_to_its_error(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    csrf = await login_session(client, "rep1")
    forms = [f for f in forms_of((await client.get("/")).text) if "data-outbox" in f["attrs"]]
    move = next(f for f in forms if f["fields"].get("status") == "snoozed" and "snooze_until" in f["fields"])
    url = move["attrs"]["hx-post"]
    too_far = "2027-06-30"  # beyond the 60 days a task may move
    answer = await client.post(
        url,
        data={"_csrf_token": csrf, "status": "snoozed", "snooze_until": too_far},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 422, answer.text
    html = answer.text
    date_input = re.search(r'<input id="move-[^"]+" name="snooze_until" type="date"[^>]*>', html)
    assert date_input is not None
    assert f'value="{too_far}"' in date_input.group(0) and "autofocus" in date_input.group(0)
    form = html[html.index('id="move-') :]
    form = form[: form.index("</form>")]
    assert 'class="field-error" role="alert"' in form  # the message, inside the form that failed
    assert "<details" in html and "open" in html[html.index("<details") :][:80]

    skip = next(f for f in forms if f["fields"].get("status") == "skipped")
    note = "Shop closed for stocktaking"
    refused = await client.post(
        skip["attrs"]["hx-post"],
        data={"_csrf_token": csrf, "status": "skipped", "note": note},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and note in refused.text  # the typed note is kept


async def test_one_note_box_per_card_feeds_done_and_skip(client: AsyncTestClient[Any], demo: Demo) -> None:
    await login_session(client, "rep1")
    html = (await client.get("/")).text
    cards = html.count("data-task-card")
    assert cards > 0 and html.count("data-shared-note") == cards  # one box per card
    assert 'textarea id="note-done' not in html and 'textarea id="note-skipped' not in html
    forms = [f for f in forms_of(html) if f["fields"].get("status") in ("done", "skipped")]
    assert forms and all("note" in f["fields"] for f in forms)  # each still sends the note
