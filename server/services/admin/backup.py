"""Full, versioned data export and restore: `fieldsales export` / `fieldsales import-all`.

The archive is a .tar.gz holding manifest.json (format version, schema revision, row counts)
and one JSON-lines file per table in foreign-key order. It is engine-neutral: a SQLite export
restores into PostgreSQL and back. Rows are streamed, so memory stays flat on large databases.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Column, Date, DateTime, Numeric, Table, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import BindParameter

import server.db.models  # noqa: F401  (every table on the metadata)
from server.clock import Clock, system_clock
from server.db.actuals_rollup import triggers_suspended
from server.db.base import metadata
from server.db.models import rep_day_actuals
from server.services.evidence.photos_archive import add_photo_files, restore_photo_files
from server.services.evidence.storage import BlobStore

FORMAT_VERSION = 1
BATCH = 2000


class RestoreError(Exception):
    """The archive cannot be restored into this database (it says why)."""


def _encode(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _decoder(column: Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, GUID):
        return lambda v: None if v is None else UUID(v)
    if isinstance(kind, Numeric):
        return lambda v: None if v is None else Decimal(v)
    if isinstance(kind, (DateTimeUTC, DateTime)):
        return lambda v: None if v is None else datetime.fromisoformat(v).astimezone(UTC)
    if isinstance(kind, Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    return lambda v: v


def _tables() -> list[Table]:
    # The rollup is derived from orders and checkins: not archived, rebuilt by the restore.
    return [table for table in metadata.sorted_tables if table.name != rep_day_actuals.name]


async def _schema_revisions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT version_num FROM alembic_version ORDER BY 1"))
        return [row[0] for row in rows]


async def export_archive(
    engine: AsyncEngine, path: Path, clock: Clock = system_clock, store: BlobStore | None = None
) -> dict[str, Any]:
    """Write every table to `path` (.tar.gz), and the photo files from `store`; returns the
    manifest (stamped with `clock`'s now)."""
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for table in _tables():
            counts[table.name] = await _dump_table(engine, table, Path(workdir) / f"{table.name}.jsonl")
        manifest = {
            "format_version": FORMAT_VERSION,
            "schema_revisions": await _schema_revisions(engine),
            "exported_at": clock.now().isoformat(),
            "source_dialect": engine.dialect.name,
            "tables": counts,
        }
        with tarfile.open(path, "w:gz") as archive:
            _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
            for table in _tables():
                archive.add(Path(workdir) / f"{table.name}.jsonl", arcname=f"tables/{table.name}.jsonl")
            if store is not None:
                manifest["files"] = await add_photo_files(engine, archive, store)
    return manifest


async def _dump_table(engine: AsyncEngine, table: Table, out: Path) -> int:
    count = 0
    columns = [c for c in table.columns if c.name != "sa_orm_sentinel"]
    async with engine.connect() as connection:
        result = await connection.stream(select(*columns).order_by(*table.primary_key.columns))
        with out.open("w", encoding="utf-8") as handle:
            async for row in result:
                handle.write(json.dumps({c.name: _encode(v) for c, v in zip(columns, row, strict=True)}))
                handle.write("\n")
                count += 1
    return count


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


async def import_archive(engine: AsyncEngine, path: Path, store: BlobStore | None = None) -> dict[str, int]:
    """Restore an archive into an empty database already upgraded to the same schema (and its
    photo files into `store`)."""
    with tarfile.open(path, "r:gz") as archive:
        manifest = json.load(_member(archive, "manifest.json"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise RestoreError(f"archive format {manifest.get('format_version')} is not {FORMAT_VERSION}")
        ours = await _schema_revisions(engine)
        if sorted(manifest.get("schema_revisions", [])) != ours:
            raise RestoreError(
                f"archive schema {manifest.get('schema_revisions')} differs from this database's {ours}; "
                "upgrade both to the same revision first"
            )
        async with engine.connect() as connection:
            for table in _tables():
                if await connection.scalar(select(func.count()).select_from(table)):
                    raise RestoreError(f"table {table.name} is not empty; restore needs an empty database")
        restored: dict[str, int] = {}
        async with engine.begin() as connection, triggers_suspended(connection):  # all or nothing
            for table in _tables():
                restored[table.name] = await _restore_table(connection, table, archive)
        for name, expected in manifest["tables"].items():
            if restored.get(name, 0) != expected:
                raise RestoreError(f"{name}: restored {restored.get(name, 0)} rows, manifest says {expected}")
        if store is not None:
            restored["files"] = await restore_photo_files(archive, store)
    return restored


def _self_references(table: Table) -> list[str]:
    """Columns pointing at the same table (parent_id ...): filled in after all rows exist."""
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


async def _restore_table(connection: Any, table: Table, archive: tarfile.TarFile) -> int:
    decoders = {c.name: _decoder(c) for c in table.columns}
    deferred = _self_references(table)
    links: list[dict[str, Any]] = []
    count = 0
    for batch in _batches(_member(archive, f"tables/{table.name}.jsonl")):
        rows = [{k: decoders[k](v) for k, v in row.items()} for row in batch]
        for row in rows:
            if any(row.get(name) is not None for name in deferred):
                links.append({"_id": row["id"], **{name: row[name] for name in deferred}})
                row.update(dict.fromkeys(deferred))
        await connection.execute(insert(table), rows)
        count += len(rows)
    if links:
        values: dict[str, BindParameter[Any]] = {name: bindparam(name) for name in deferred}
        stmt = update(table).where(table.c.id == bindparam("_id")).values(**values)
        for offset in range(0, len(links), BATCH):
            await connection.execute(stmt, links[offset : offset + BATCH])
    return count


def _member(archive: tarfile.TarFile, name: str) -> io.BufferedReader:
    handle = archive.extractfile(name)
    if handle is None:
        raise RestoreError(f"archive has no {name}")
    return handle  # type: ignore[return-value]


def _batches(handle: io.BufferedReader) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for line in handle:
        if line.strip():
            batch.append(json.loads(line))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
