"""Helpers shared by the photo tests (this module holds no tests itself)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from uuid import uuid4

from litestar.testing import AsyncTestClient
from PIL import ExifTags, Image

from tests.conftest import Demo, MutableClock
from tests.integration.checkins.test_checkins_support import API, Place, checkin_body, customers_of

# Where the EXIF says the photo was taken: far from any demo customer.
EXIF_LAT, EXIF_LNG = (48.0, 51.0, 30.0), (2.0, 17.0, 40.0)


def jpeg(width: int = 640, height: int = 480, gps: bool = False, taken: str | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (30, 120, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef], info[ExifTags.GPS.GPSLatitude] = "N", EXIF_LAT
        info[ExifTags.GPS.GPSLongitudeRef], info[ExifTags.GPS.GPSLongitude] = "E", EXIF_LNG
    if taken:
        details = exif.get_ifd(ExifTags.IFD.Exif)
        details[ExifTags.Base.DateTimeOriginal] = taken
        details[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 320, height: int = 200, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG")
    return out.getvalue()


async def open_visit(
    client: AsyncTestClient[Any], headers: dict[str, str], place: Place, clock: MutableClock
) -> str:
    """A check-in 10 m from the customer (verified); its id."""
    response = await client.post(API, json=checkin_body(place, clock.now()), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def visit_of(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: Any, clock: MutableClock, rep: str = "rep1"
) -> tuple[str, dict[str, str], Place]:
    headers = await auth(rep)
    [place] = await customers_of(engine, demo.user(rep))
    return await open_visit(client, headers, place, clock), headers, place


async def upload(
    client: AsyncTestClient[Any],
    headers: dict[str, str],
    checkin_id: str,
    data: bytes,
    name: str = "photo.jpg",
    declared: str = "image/jpeg",
    photo_id: str | None = None,
    **fields: str,
) -> Any:
    form = {"id": photo_id or str(uuid4()), **fields}
    return await client.post(
        f"{API}/{checkin_id}/photos", data=form, files={"photo": (name, data, declared)}, headers=headers
    )


def stored_files(root: Path, photo_id: str) -> list[Path]:
    """The files the directory store holds for one photo (image and thumbnail)."""
    return sorted(root.rglob(f"{photo_id}*"))
