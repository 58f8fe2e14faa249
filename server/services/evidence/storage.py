"""Where evidence files live: one small seam (put / get / delete by key).

The default is a directory (EVIDENCE_DIR, else var/evidence); production may use any
S3-compatible object store (EVIDENCE_STORE=s3, docs/deploy.md) through boto3, imported only
when configured. Keys are made by the services (`photos/<company>/<checkin>/<id>.jpg`), never
from user input, and are checked again here so no key escapes the store's root.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from server.config import Settings

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


def _checked(key: str) -> str:
    if not _KEY.match(key) or ".." in key or len(key) > 200:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes | None:
        """The bytes under `key`, or None when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""
        ...


class DirectoryStore:
    """Files under one directory; a write is atomic (a temporary file renamed into place)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise

    def _read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._read, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3Store:
    """An S3-compatible bucket through boto3 (AWS S3, MinIO, Cloudflare R2, Aliyun OSS, ...).

    Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a
    profile, or the instance role); boto3 is synchronous, so each call runs in a worker thread.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str = "", region: str = "") -> None:
        try:
            import boto3  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:  # configured for S3 but not installed: say what to do
            raise RuntimeError("EVIDENCE_STORE=s3 needs boto3: pip install 'fieldsales[s3]'") from exc
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client: Any = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)
        self._missing = (self.client.exceptions.NoSuchKey,)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{_checked(key)}" if self.prefix else _checked(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except self._missing:
                return None
            return bytes(answer["Body"].read())

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))


_STORES: dict[tuple[str, ...], BlobStore] = {}


def blob_store(settings: Settings) -> BlobStore:
    """The store the settings name (one per configuration, shared by every request)."""
    kind = settings.evidence_store.strip().lower()
    if kind == "s3":
        if not settings.evidence_s3_bucket:
            raise RuntimeError("EVIDENCE_STORE=s3 needs EVIDENCE_S3_BUCKET")
        config: tuple[str, ...] = (
            "s3",
            settings.evidence_s3_bucket,
            settings.evidence_s3_prefix,
            settings.evidence_s3_endpoint,
            settings.evidence_s3_region,
        )
        if config not in _STORES:
            _STORES[config] = S3Store(*config[1:])  # bucket, prefix, endpoint, region
        return _STORES[config]
    if kind not in ("", "dir"):
        raise RuntimeError(f"EVIDENCE_STORE must be dir or s3, not {settings.evidence_store!r}")
    config = ("dir", str(settings.evidence_path))
    if config not in _STORES:
        _STORES[config] = DirectoryStore(settings.evidence_path)
    return _STORES[config]
