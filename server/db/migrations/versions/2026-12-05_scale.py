"""scale: escalation_events partitioned by month on PostgreSQL (a no-op on SQLite)

The other ever-growing tables stay plain tables for now: docs/scale.md says why (each has a key
that must stay unique across every month). Next months' partitions are created ahead by the daily
`partitions` job and `fieldsales partitions` (server/db/partitions.py).

Revision ID: scale_0004
Revises: forms_0004
Create Date: 2026-12-05 06:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "scale_0004"
down_revision: str | None = "forms_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "id, escalation_id, at, event, from_level, to_level, severity, actor_id, note, sa_orm_sentinel"

# Every month that has events, and this month and the next three: a partition each.
_MONTHS = """
DO $$
DECLARE
    month date;
    last date := (date_trunc('month', now()) + interval '3 months')::date;
BEGIN
    month := coalesce((SELECT date_trunc('month', min(at AT TIME ZONE 'UTC'))::date FROM escalation_events),
                      date_trunc('month', now())::date);
    WHILE month <= last LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF escalation_events FOR VALUES FROM (%L) TO (%L)',
            'escalation_events_y' || to_char(month, 'YYYY') || 'm' || to_char(month, 'MM'),
            month::timestamp AT TIME ZONE 'UTC', (month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
        month := (month + interval '1 month')::date;
    END LOOP;
END $$
"""


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        return
    op.execute("ALTER TABLE escalation_events RENAME TO escalation_events_plain")
    op.execute("ALTER TABLE escalation_events_plain RENAME CONSTRAINT pk_escalation_events TO pk_escalation_events_plain")
    op.execute("ALTER INDEX ix_escalation_events_escalation_id_at RENAME TO ix_escalation_events_plain_at")
    op.execute(
        "CREATE TABLE escalation_events (LIKE escalation_events_plain INCLUDING DEFAULTS) PARTITION BY RANGE (at)"
    )
    # The partition key must be part of the primary key; event ids are server-made uuids.
    op.execute("ALTER TABLE escalation_events ADD CONSTRAINT pk_escalation_events PRIMARY KEY (id, at)")
    op.execute("CREATE INDEX ix_escalation_events_escalation_id_at ON escalation_events (escalation_id, at)")
    op.execute("CREATE TABLE escalation_events_default PARTITION OF escalation_events DEFAULT")
    op.execute(_MONTHS.replace("FROM escalation_events)", "FROM escalation_events_plain)"))
    op.execute(f"INSERT INTO escalation_events ({_COLUMNS}) SELECT {_COLUMNS} FROM escalation_events_plain")
    op.execute("DROP TABLE escalation_events_plain")
    op.execute(
        "ALTER TABLE escalation_events ADD CONSTRAINT fk_escalation_events_escalation_id_escalations"
        " FOREIGN KEY (escalation_id) REFERENCES escalations(id) ON DELETE CASCADE"
    )
    op.execute(
        "ALTER TABLE escalation_events ADD CONSTRAINT fk_escalation_events_actor_id_users"
        " FOREIGN KEY (actor_id) REFERENCES users(id)"
    )


def downgrade() -> None:
    if not _postgresql():
        return
    op.execute("ALTER TABLE escalation_events RENAME TO escalation_events_parted")
    op.execute("ALTER TABLE escalation_events_parted RENAME CONSTRAINT pk_escalation_events TO pk_escalation_events_parted")
    op.execute("ALTER INDEX ix_escalation_events_escalation_id_at RENAME TO ix_escalation_events_parted_at")
    op.execute("ALTER TABLE escalation_events_parted DROP CONSTRAINT fk_escalation_events_escalation_id_escalations")
    op.execute("ALTER TABLE escalation_events_parted DROP CONSTRAINT fk_escalation_events_actor_id_users")
    op.execute("CREATE TABLE escalation_events (LIKE escalation_events_parted INCLUDING DEFAULTS)")
    op.execute("ALTER TABLE escalation_events ADD CONSTRAINT pk_escalation_events PRIMARY KEY (id)")
    op.execute(f"INSERT INTO escalation_events ({_COLUMNS}) SELECT {_COLUMNS} FROM escalation_events_parted")
    op.execute("DROP TABLE escalation_events_parted CASCADE")
    op.execute("CREATE INDEX ix_escalation_events_escalation_id_at ON escalation_events (escalation_id, at)")
    op.execute(
        "ALTER TABLE escalation_events ADD CONSTRAINT fk_escalation_events_escalation_id_escalations"
        " FOREIGN KEY (escalation_id) REFERENCES escalations(id) ON DELETE CASCADE"
    )
    op.execute(
        "ALTER TABLE escalation_events ADD CONSTRAINT fk_escalation_events_actor_id_users"
        " FOREIGN KEY (actor_id) REFERENCES users(id)"
    )
