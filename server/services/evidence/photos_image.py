"""What an uploaded photo really is, and the copy we keep: Pillow, over bytes (no I/O).

The type is decided by the content (Pillow identifies, verifies and decodes it), never by the
file name or the declared Content-Type. The kept copy is re-encoded from the decoded pixels:
every metadata block goes (EXIF GPS, maker notes, XMP, comments, anything hidden in the file)
except the capture time, which is written back as the only EXIF tags. Orientation is applied to
the pixels first, so the photo still stands the right way up without its EXIF.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

# Pillow format -> (content type, file extension). Formats a phone's camera or canvas produces.
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
JPEG_QUALITY = 88
THUMB_QUALITY = 80
_DATETIME = ExifTags.Base.DateTime
_DATETIME_ORIGINAL = ExifTags.Base.DateTimeOriginal
_OFFSET_ORIGINAL = ExifTags.Base.OffsetTimeOriginal


class PhotoRejected(ValueError):
    """The upload is not a photo we keep; `status` and `message` go back to the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class CleanPhoto:
    content_type: str
    extension: str
    data: bytes  # the kept image: re-encoded, no metadata but the capture time
    thumbnail: bytes  # JPEG, longest side `thumb_px`
    width: int
    height: int
    taken_at: datetime | None  # from EXIF DateTimeOriginal (naive when it had no offset)


def _open(raw: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(raw))


def clean_photo(raw: bytes, max_pixels: int, thumb_px: int) -> CleanPhoto:
    """Identify, verify and decode `raw`; refuse what is not a JPEG, PNG or WebP photo within
    `max_pixels`; return the cleaned copy and its thumbnail."""
    try:
        probe = _open(raw)
        kind = probe.format or ""
        width, height = probe.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PhotoRejected(415, "is not an image (JPEG, PNG or WebP)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRejected(422, f"has too many pixels (at most {max_pixels:,})") from exc
    if kind not in FORMATS:
        raise PhotoRejected(415, f"is a {kind or 'unknown'} image; send a JPEG, PNG or WebP photo")
    # Checked on the header, before any pixel is decoded: a bomb never reaches load().
    if width * height > max_pixels:
        raise PhotoRejected(422, f"has {width * height:,} pixels; at most {max_pixels:,} are accepted")
    try:
        _open(raw).verify()
        image = _open(raw)
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRejected(422, f"has too many pixels (at most {max_pixels:,})") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt
        raise PhotoRejected(415, "is a damaged image file") from exc
    exif = image.getexif()
    taken_at = _capture_time(exif)
    upright = ImageOps.exif_transpose(image)
    content_type, extension = FORMATS[kind]
    return CleanPhoto(
        content_type=content_type,
        extension=extension,
        data=_reencode(upright, kind, exif, getattr(image, "quantization", None)),
        thumbnail=_thumbnail(_draft(raw, thumb_px) if kind == "JPEG" else upright, thumb_px),
        width=upright.width,
        height=upright.height,
        taken_at=taken_at,
    )


def _capture_time(exif: Image.Exif) -> datetime | None:
    details = exif.get_ifd(ExifTags.IFD.Exif)
    text = details.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not isinstance(text, str):
        return None
    try:
        taken = datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = details.get(_OFFSET_ORIGINAL)
    if isinstance(offset, str) and len(offset) == 6 and offset[0] in "+-":
        try:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
        except ValueError:
            return taken
        sign = 1 if offset[0] == "+" else -1
        taken = taken.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return taken


def _time_only(exif: Image.Exif) -> Image.Exif:
    """A new EXIF block with nothing but the capture time (and its offset) of `exif`."""
    kept = Image.Exif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    original = details.get(_DATETIME_ORIGINAL)
    if isinstance(original, str):
        kept[_DATETIME] = original
        kept_details = kept.get_ifd(ExifTags.IFD.Exif)
        kept_details[_DATETIME_ORIGINAL] = original
        offset = details.get(_OFFSET_ORIGINAL)
        if isinstance(offset, str):
            kept_details[_OFFSET_ORIGINAL] = offset
    elif isinstance(exif.get(_DATETIME), str):
        kept[_DATETIME] = exif[_DATETIME]
    return kept


def _reencode(image: Image.Image, kind: str, exif: Image.Exif, qtables: dict[int, list[int]] | None) -> bytes:
    out = io.BytesIO()
    kept = _time_only(exif)
    if kind == "JPEG":
        rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
        # The sender's own quantization tables: the same quality, so the copy is not bigger.
        quality: dict[str, Any] = {"qtables": qtables} if qtables else {"quality": JPEG_QUALITY}
        rgb.save(out, "JPEG", exif=kept.tobytes() if len(kept) else b"", **quality)
    elif kind == "WEBP":
        mode = "RGBA" if "A" in image.getbands() else "RGB"
        image.convert(mode).save(out, "WEBP", quality=85, exif=kept.tobytes() if len(kept) else b"")
    else:  # PNG: no text chunks, no eXIf, no ICC profile carried over
        clean = (
            image
            if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16")
            else image.convert("RGBA")
        )
        clean.save(out, "PNG", optimize=True, exif=kept.tobytes() if len(kept) else b"")
    return out.getvalue()


def _draft(raw: bytes, size: int) -> Image.Image:
    """The JPEG decoded at the smallest scale (1/2 .. 1/8) still at least twice `size`: a
    thumbnail from it costs a fraction of one from the full image."""
    image = _open(raw)
    image.draft("RGB", (size * 2, size * 2))
    return ImageOps.exif_transpose(image)


def _thumbnail(image: Image.Image, size: int) -> bytes:
    thumb = image.convert("RGB")
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=THUMB_QUALITY)
    return out.getvalue()
