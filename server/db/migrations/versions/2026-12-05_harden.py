"""harden: one open task per (rep, day, customer, kind); login throttles counted atomically

Revision ID: harden_0003
Revises: tasks_0002
Create Date: 2026-12-05 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = "harden_0003"
down_revision: str | None = "rep_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = (
    "customer_id IS NOT NULL AND status IN ('planned', 'snoozed') "
    "AND COALESCE(status_reason, '') <> 'rescheduled'"
)


def upgrade() -> None:
    # Duplicates made by earlier races: keep the oldest open task, skip the others (with a reason).
    op.execute(
        f"""
        UPDATE tasks SET status = 'skipped', status_reason = 'duplicate'
        WHERE {OPEN} AND EXISTS (
            SELECT 1 FROM tasks AS first
            WHERE first.rep_id = tasks.rep_id AND first.local_date = tasks.local_date
              AND first.customer_id = tasks.customer_id AND first.kind = tasks.kind
              AND first.status IN ('planned', 'snoozed')
              AND COALESCE(first.status_reason, '') <> 'rescheduled'
              AND (first.created_at < tasks.created_at
                   OR (first.created_at = tasks.created_at AND first.id < tasks.id))
        )
        """
    )
    op.create_index(
        "uq_tasks_open_customer_day",
        "tasks",
        ["rep_id", "local_date", "customer_id", "kind"],
        unique=True,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )
    op.create_table(
        "login_throttles",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("blocked_until", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("key", name=op.f("uq_login_throttles_key")),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
    op.drop_index("uq_tasks_open_customer_day", table_name="tasks")
