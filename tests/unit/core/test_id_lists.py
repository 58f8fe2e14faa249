"""Id lists bound once on PostgreSQL, as IN lists (in chunks under SQLite's variable limit) elsewhere."""

import uuid

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from server.db.id_lists import CHUNK, among, id_batches, in_ids
from server.db.models import Order, Target


def test_postgresql_binds_every_id_at_once() -> None:
    ids = [uuid.uuid4() for _ in range(CHUNK + 1)]
    assert list(id_batches(ids, postgresql=True)) == [ids]
    assert list(id_batches([], postgresql=True)) == []
    sql = str(in_ids(Target.scope_id, "ids", postgresql=True).compile(dialect=postgresql.dialect()))
    assert sql == "targets.scope_id = ANY (%(ids)s::UUID[])"


def test_sqlite_binds_chunks_of_an_in_list() -> None:
    ids = [uuid.uuid4() for _ in range(CHUNK + 1)]
    assert list(id_batches(ids, postgresql=False)) == [ids[:CHUNK], ids[CHUNK:]]
    assert list(id_batches([], postgresql=False)) == []
    sql = str(in_ids(Target.scope_id, "ids", postgresql=False).compile(dialect=sqlite.dialect()))
    assert sql == "targets.scope_id IN (__[POSTCOMPILE_ids])"


def test_postgresql_binds_the_ids_as_one_array() -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    compiled = select(Order.id).where(among(Order.rep_id, ids)).compile(dialect=postgresql.dialect())
    assert "orders.rep_id = ANY (%(param_1)s::UUID[])" in str(compiled)
    assert compiled.params == {"param_1": ids}


def test_sqlite_gets_an_in_list_not_compared_with_one() -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    sql = str(
        select(Order.id)
        .where(among(Order.rep_id, ids))
        .compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})
    )
    assert "orders.rep_id IN (?, ?, ?)" in sql and "= 1" not in sql
