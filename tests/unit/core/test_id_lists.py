"""Id lists bound once on PostgreSQL, in chunks under SQLite's variable limit elsewhere."""

import uuid

from sqlalchemy.dialects import postgresql, sqlite

from server.db.id_lists import CHUNK, id_batches, in_ids
from server.db.models import Target


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
