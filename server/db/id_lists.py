"""Filtering by a list of ids on both engines: the one place that decides how the ids are bound.

PostgreSQL gets one uuid[] parameter (`column = ANY(:ids)`), so 10,000 ids cost one bind
instead of 10,000 `$n::UUID` placeholders rendered and converted on every call. SQLite has no
arrays: there it is an IN list (under its variable limit).

Two forms: `among(column, ids)` carries its ids (a criterion built per call), and
`in_ids(column, name, postgresql)` + `id_batches` bind them by name at execution, so one
statement is compiled once and run per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Uuid, any_, bindparam, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.sqltypes import NullType

CHUNK = 5000  # bound the IN lists (SQLite's variable limit; planner friendliness)

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def in_ids(
    column: ColumnElement[Any] | QueryableAttribute[Any], name: str, postgresql: bool
) -> ColumnElement[bool]:
    """`column` is one of the ids bound as :name (see id_batches for the values)."""
    if postgresql:
        return column == any_(bindparam(name, type_=ARRAY(PG_UUID(as_uuid=True))))
    return column.in_(bindparam(name, expanding=True))


def id_batches(ids: Sequence[UUID], postgresql: bool) -> Iterator[list[UUID]]:
    """The values to bind for in_ids: all at once on PostgreSQL, CHUNK at a time elsewhere."""
    if postgresql:
        if ids:
            yield list(ids)
        return
    for part in chunks(ids):
        yield list(part)


class _Among(ColumnElement[Any]):
    # Not typed Boolean: SQLite (no native boolean) would compare it with 1, and lose the index.
    type = NullType()
    inherit_cache = False  # the ids are values, not the statement's shape

    def __init__(self, column: Any, ids: Iterable[UUID]) -> None:
        self.column, self.ids = column, list(ids)


def among(column: Any, ids: Iterable[UUID]) -> ColumnElement[Any]:
    """A WHERE criterion: `column` (a UUID column) is one of `ids`."""
    return _Among(column, ids)


@compiles(_Among)
def _as_in_list(element: _Among, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.in_(element.ids), **kw))


@compiles(_Among, "postgresql")
def _as_array(element: _Among, compiler: Any, **kw: Any) -> str:
    ids = bindparam(None, element.ids, type_=ARRAY(PG_UUID(as_uuid=True)))
    return str(compiler.process(element.column == any_(ids), **kw))


def fetched_uuid(column: Any, postgresql: bool) -> Any:
    """A UUID column to read in bulk: on PostgreSQL asyncpg already returns UUID objects, so read
    as a plain Uuid it skips the GUID type's per-value call; SQLite's stored bytes need the GUID."""
    return type_coerce(column, Uuid()).label(column.key) if postgresql else column
