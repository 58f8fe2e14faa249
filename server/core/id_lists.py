"""`column IN (ids)` for long id lists: one array parameter on PostgreSQL, an IN list elsewhere.

SQLAlchemy renders and binds an IN list one id at a time, on every execution: for 5,000 ids
(a sweep's chunk of reps) that costs more than running the query, and more again when a query
filters several branches by the same ids. PostgreSQL takes them as one `uuid[]` (`= ANY($1)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.sqltypes import NullType

__all__ = ["among"]


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
