"""Filtering by a list of ids on both engines: the one place that decides how the ids are bound.

PostgreSQL gets one uuid[] parameter (`column = ANY(:ids)`), so 10,000 ids cost one bind
instead of 10,000 `$n::UUID` placeholders rendered and converted on every call. SQLite has no
arrays: there it is an expanding IN list, bound in chunks under its variable limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import QueryableAttribute

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
