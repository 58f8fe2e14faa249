"""INSERT ... ON CONFLICT for both engines: the one place that picks the dialect's insert.

PostgreSQL and SQLite share SQLAlchemy's ON CONFLICT API (`on_conflict_do_nothing`,
`on_conflict_do_update`, `excluded`); only the insert construct differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, TableClause, TextClause
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Target = Any  # a mapped class or a Table

Insert = postgresql.Insert | sqlite.Insert


def dialect_of(bind: AsyncSession | AsyncConnection | str) -> str:
    """The dialect name of a session, a connection or a name already ("postgresql", "sqlite")."""
    if isinstance(bind, str):
        return bind
    engine = bind.bind if isinstance(bind, AsyncSession) else bind
    return engine.dialect.name if engine is not None else "sqlite"


def conflict_insert(bind: AsyncSession | AsyncConnection | str, target: Target | TableClause) -> Insert:
    """An INSERT on which `.on_conflict_do_nothing()` / `.on_conflict_do_update()` work."""
    if dialect_of(bind) == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


def insert_or_skip(
    bind: AsyncSession | AsyncConnection | str,
    target: Target | TableClause,
    index_elements: Sequence[str],
    index_where: ColumnElement[bool] | TextClause | None = None,
) -> Insert:
    """INSERT ... ON CONFLICT (index_elements) DO NOTHING: rows already there are left alone."""
    return conflict_insert(bind, target).on_conflict_do_nothing(
        index_elements=list(index_elements), index_where=index_where
    )
