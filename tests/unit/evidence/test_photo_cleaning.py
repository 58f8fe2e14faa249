"""Pillow cleaning of uploads and the directory store's keys: pure, no database."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from server.services.evidence.photos_image import PhotoRejected, clean_photo
from server.services.evidence.storage import DirectoryStore


def _jpeg_with(orientation: int | None = None, offset: str | None = None) -> bytes:
    image = Image.new("RGB", (400, 200), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 200, 200))  # blue left half
    exif = Image.Exif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = "2026:11:18 09:58:00"
    if offset:
        details[ExifTags.Base.OffsetTimeOriginal] = offset
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"", 415),
        (b"GIF89a not really", 415),
        (b"%PDF-1.7\n", 415),
        (b"\xff\xd8\xff\xe0 truncated jpeg", 415),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, 415),
    ],
)
def test_what_is_not_a_photo_is_refused(raw: bytes, status: int) -> None:
    with pytest.raises(PhotoRejected) as refused:
        clean_photo(raw, 40_000_000, 320)
    assert refused.value.status == status


def test_a_truncated_photo_is_refused_after_its_header() -> None:
    whole = _jpeg_with()
    with pytest.raises(PhotoRejected, match="damaged"):
        clean_photo(whole[: len(whole) // 2], 40_000_000, 320)


def test_orientation_is_applied_and_dropped() -> None:
    clean = clean_photo(_jpeg_with(orientation=6), 40_000_000, 320)  # 6: rotate 90° clockwise
    assert (clean.width, clean.height) == (200, 400)
    kept = Image.open(io.BytesIO(clean.data))
    assert ExifTags.Base.Orientation not in kept.getexif()
    top = kept.convert("RGB").getpixel((100, 50))
    assert isinstance(top, tuple) and top[2] > 200 and top[0] < 60  # the blue half is now on top


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (None, "2026-11-18T09:58:00"),
        ("+08:00", "2026-11-18T09:58:00+08:00"),
        ("-05:30", "2026-11-18T09:58:00-05:30"),
    ],
)
def test_capture_time_comes_from_exif(offset: str | None, expected: str) -> None:
    assert clean_photo(_jpeg_with(offset=offset), 40_000_000, 320).taken_at.isoformat() == expected  # type: ignore[union-attr]


def test_the_pixel_limit_is_checked_on_the_header() -> None:
    with pytest.raises(PhotoRejected) as refused:
        clean_photo(_jpeg_with(), 400 * 200 - 1, 320)
    assert refused.value.status == 422 and "pixels" in refused.value.message


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../b", "a//b", "", "a/.hidden/../x", "x\\y"])
def test_the_directory_store_refuses_keys_that_leave_its_root(key: str, tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    with pytest.raises(ValueError):
        asyncio.run(store.put(key, b"x", "text/plain"))


def test_the_directory_store_round_trip(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")

    async def run() -> tuple[bytes | None, bytes | None]:
        await store.put("photos/c/v/p.jpg", b"abc", "image/jpeg")
        first = await store.get("photos/c/v/p.jpg")
        await store.delete("photos/c/v/p.jpg")
        await store.delete("photos/c/v/p.jpg")  # deleting twice is fine
        return first, await store.get("photos/c/v/p.jpg")

    assert asyncio.run(run()) == (b"abc", None)
    assert [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()] == []
