"""among(): one array parameter on PostgreSQL, a plain IN list (usable by an index) on SQLite."""

from __future__ import annotations

from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from server.core.id_lists import among
from server.db.models import Order


def test_postgresql_binds_the_ids_as_one_array() -> None:
    ids = [uuid4() for _ in range(3)]
    compiled = select(Order.id).where(among(Order.rep_id, ids)).compile(dialect=postgresql.dialect())
    assert "orders.rep_id = ANY (%(param_1)s::UUID[])" in str(compiled)
    assert compiled.params == {"param_1": ids}


def test_sqlite_gets_an_in_list_not_compared_with_one() -> None:
    ids = [uuid4() for _ in range(3)]
    sql = str(
        select(Order.id)
        .where(among(Order.rep_id, ids))
        .compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})
    )
    assert "orders.rep_id IN (?, ?, ?)" in sql and "= 1" not in sql
