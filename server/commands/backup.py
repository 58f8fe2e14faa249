"""`fieldsales export` and `import-all`: every table to a versioned archive and back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from server.config import load_settings


@click.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
def export_cmd(path: str) -> None:
    """Export every table to a versioned .tar.gz archive."""
    from server.db.engine import create_engine
    from server.services.admin.backup import export_archive
    from server.services.evidence.storage import blob_store

    async def go() -> dict[str, Any]:
        settings = load_settings()
        engine = create_engine(settings)
        try:
            return await export_archive(engine, Path(path), store=blob_store(settings))
        finally:
            await engine.dispose()

    manifest = asyncio.run(go())
    click.echo(
        f"exported {sum(manifest['tables'].values())} rows and {manifest.get('files', 0)} files to {path}"
    )


@click.command("import-all")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_all_cmd(path: str) -> None:
    """Restore an export into an empty database (upgraded to the archive's schema first)."""
    from server.db.engine import create_engine
    from server.db.migrate import upgrade
    from server.services.admin.backup import RestoreError, import_archive
    from server.services.evidence.storage import blob_store

    async def go() -> dict[str, int]:
        settings = load_settings()
        engine = create_engine(settings)
        try:
            await upgrade(engine)
            return await import_archive(engine, Path(path), store=blob_store(settings))
        finally:
            await engine.dispose()

    try:
        restored = asyncio.run(go())
    except RestoreError as exc:
        raise click.ClickException(str(exc)) from exc
    files = restored.pop("files", 0)
    click.echo(f"restored {sum(restored.values())} rows and {files} files from {path}")
