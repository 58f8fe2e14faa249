"""Run Alembic programmatically (used by the CLI, `make run` and the tests)."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import MIGRATIONS_DIR


def compare_type(
    context: Any, inspected_column: Any, metadata_column: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    """advanced-alchemy's GUID is stored as BINARY(16) on SQLite and reflects as NUMERIC: not a diff."""
    from advanced_alchemy.types import GUID

    if isinstance(metadata_type, GUID):
        return False
    return None  # default comparison


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Monthly partitions (server/db/partitions.py) are not models: their parent table is."""
    if type_ == "table" and name:
        from server.db.partitions import is_partition_name

        return not is_partition_name(name)
    return True


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    return config


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Upgrade the database behind `engine` to `revision`."""
    url = engine.url.render_as_string(hide_password=False)

    def _run(connection: Any) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_run)


async def autogenerate_diff(engine: AsyncEngine) -> list[Any]:
    """The differences between models and the database (empty when migrations are complete)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import server.db.models  # noqa: F401
    from server.db.base import metadata

    def _compare(connection: Any) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": compare_type, "include_name": include_name},
        )
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        return await connection.run_sync(_compare)
