"""Visit photos API: type by content, size and pixel limits, EXIF GPS stripped, scoping, replays."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient
from PIL import ExifTags, Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import VisitPhoto
from tests.conftest import Demo, MutableClock
from tests.integration.checkins.test_checkins_support import (
    API,
    checkin_body,
    count_rows,
    customers_of,
    north_of,
)
from tests.integration.evidence.photo_support import jpeg, png, upload, visit_of


def files_of(root: Path, checkin_id: str) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and checkin_id in str(p))


async def test_a_png_named_txt_is_stored_as_a_png(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    checkin_id, headers, _place = await visit_of(client, demo, auth, engine, clock)
    response = await upload(client, headers, checkin_id, png(), name="shelf.txt", declared="text/plain")
    assert response.status_code == 201, response.text
    photo = response.json()
    assert (photo["content_type"], photo["width"], photo["height"]) == ("image/png", 320, 200)
    image = await client.get(photo["image_url"], headers=headers)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    thumb = await client.get(photo["thumbnail_url"], headers=headers)
    assert thumb.headers["content-type"] == "image/jpeg" and thumb.content.startswith(b"\xff\xd8")
    assert Image.open(io.BytesIO(thumb.content)).size == (320, 200)  # never enlarged


async def test_a_text_file_named_jpg_is_refused_and_nothing_is_kept(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
    clock: MutableClock,
    evidence_root: Path,
) -> None:
    checkin_id, headers, _place = await visit_of(client, demo, auth, engine, clock)
    text = b"Shelf count: 12 facings\nnot a picture at all\n"
    response = await upload(client, headers, checkin_id, text, name="shelf.jpg", declared="image/jpeg")
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "photo"
    assert await count_rows(engine, VisitPhoto, VisitPhoto.checkin_id == UUID(checkin_id)) == 0
    assert files_of(evidence_root, checkin_id) == []
    # A GIF is an image, but not one a phone camera sends.
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    response = await upload(client, headers, checkin_id, gif.getvalue(), name="a.jpg")
    assert response.status_code == 415 and "GIF" in response.json()["errors"][0]["message"]


async def test_size_and_pixel_limits(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    checkin_id, headers, _place = await visit_of(client, demo, auth, engine, clock)
    limit = 5 * 1024 * 1024
    too_big = jpeg() + b"\0" * limit  # a real JPEG, padded past PHOTO_MAX_BYTES
    response = await upload(client, headers, checkin_id, too_big)
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["field"] == "photo"
    # A decompression bomb: a 48-megapixel 1-bit PNG of a few kilobytes.
    bomb = png(8000, 6000, mode="1")
    assert len(bomb) < 100_000
    response = await upload(client, headers, checkin_id, bomb, name="bomb.png")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "photo"
    assert "pixels" in response.json()["errors"][0]["message"]
    empty = await upload(client, headers, checkin_id, b"")
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "photo"
    missing = await client.post(
        f"{API}/{checkin_id}/photos", data={"id": str(uuid4())}, files={"x": ("a", b"1")}, headers=headers
    )
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "photo"
    bad_id = await upload(client, headers, checkin_id, jpeg(), photo_id="not-a-uuid")
    assert bad_id.status_code == 400 and bad_id.json()["errors"][0]["field"] == "id"
    assert await count_rows(engine, VisitPhoto, VisitPhoto.checkin_id == UUID(checkin_id)) == 0
    # Just under the limit is fine.
    ok = await upload(client, headers, checkin_id, jpeg(1600, 1200))
    assert ok.status_code == 201, ok.text


async def test_exif_gps_is_stripped_and_the_checkin_position_recorded(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
    clock: MutableClock,
    evidence_root: Path,
) -> None:
    checkin_id, headers, place = await visit_of(client, demo, auth, engine, clock)
    sent = jpeg(gps=True, taken="2026:11:18 09:58:00")
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's own premise
    response = await upload(client, headers, checkin_id, sent, name="IMG_0001.JPG")
    assert response.status_code == 201, response.text
    photo = response.json()
    lat, lng = north_of(place, 10.0)
    assert (photo["lat"], photo["lng"], photo["geo_status"]) == (lat, lng, "verified")
    assert photo["taken_at"] == "2026-11-18T01:58:00Z"  # 09:58 at +08:00
    (image_file,) = [p for p in files_of(evidence_root, checkin_id) if not p.name.endswith(".thumb.jpg")]
    for stored in (image_file.read_bytes(), (await client.get(photo["image_url"], headers=headers)).content):
        exif = Image.open(io.BytesIO(stored)).getexif()
        assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
        assert ExifTags.IFD.GPSInfo not in exif
        assert ExifTags.Base.Make not in exif
        assert exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] == "2026:11:18 09:58:00"
        assert b"TestPhone" not in stored


async def test_another_teams_photo_is_404(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    checkin_id, headers, _place = await visit_of(client, demo, auth, engine, clock)
    photo = (await upload(client, headers, checkin_id, jpeg())).json()
    urls = [
        f"{API}/{checkin_id}/photos",
        f"/api/v1/photos/{photo['id']}",
        photo["image_url"],
        photo["thumbnail_url"],
    ]
    for login, status in [("rep1", 200), ("manager1", 200), ("director1", 200), ("exec", 200),
                          ("rep2", 404), ("manager2", 404), ("director2", 404)]:  # fmt: skip
        other = await auth(login)
        for url in urls:
            answer = await client.get(url, headers=other)
            assert answer.status_code == status, (login, url, answer.text)
    # Nobody but the visit's rep adds photos to it.
    rep2 = await upload(client, await auth("rep2"), checkin_id, jpeg())
    assert rep2.status_code == 404 and rep2.json()["errors"][0]["field"] == "checkin_id"
    manager = await upload(client, await auth("manager1"), checkin_id, jpeg())
    assert manager.status_code == 403
    assert (await client.get(photo["image_url"])).status_code == 401


async def test_a_replay_stores_the_photo_once(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
    clock: MutableClock,
    evidence_root: Path,
) -> None:
    checkin_id, headers, _place = await visit_of(client, demo, auth, engine, clock)
    photo_id, data = str(uuid4()), jpeg(gps=True)
    first = await upload(client, headers, checkin_id, data, photo_id=photo_id)
    again = await upload(client, headers, checkin_id, data, photo_id=photo_id)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # Two at once (a page and the service worker racing): still one.
    twin_id = str(uuid4())
    twins = await asyncio.gather(
        *(upload(client, headers, checkin_id, data, photo_id=twin_id) for _ in range(2))
    )
    assert sorted(t.status_code for t in twins) == [200, 201], [t.text for t in twins]
    assert await count_rows(engine, VisitPhoto, VisitPhoto.checkin_id == UUID(checkin_id)) == 2
    assert len(files_of(evidence_root, checkin_id)) == 4  # two images, two thumbnails
    listed = await client.get(f"{API}/{checkin_id}/photos", headers=headers)
    assert sorted(p["id"] for p in listed.json()) == sorted([photo_id, twin_id])
    # The same id with other bytes is not a replay.
    other = await upload(client, headers, checkin_id, png(), photo_id=photo_id)
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "photo"
    async with engine.connect() as connection:
        stored = (
            await connection.execute(select(VisitPhoto.content_type).where(VisitPhoto.id == UUID(photo_id)))
        ).scalar_one()
    assert stored == "image/jpeg"


async def test_a_photo_sent_before_its_check_in_is_refused_and_accepted_after_it(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    """The outbox sends a visit's photos after its check-in; should one arrive first anyway, it
    is refused without a trace, and the same upload succeeds once the check-in is there."""
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    body = checkin_body(place, clock.now())
    photo_id, data = str(uuid4()), jpeg()
    early = await upload(client, headers, body["id"], data, photo_id=photo_id)
    assert early.status_code == 404 and early.json()["errors"][0]["field"] == "checkin_id"
    assert await count_rows(engine, VisitPhoto, VisitPhoto.id == UUID(photo_id)) == 0
    assert (await client.post(API, json=body, headers=headers)).status_code == 201
    late = await upload(client, headers, body["id"], data, photo_id=photo_id)
    assert late.status_code == 201, late.text
