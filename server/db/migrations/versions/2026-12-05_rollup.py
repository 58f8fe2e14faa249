"""rollup: rep_day_actuals, per rep and day revenue, orders and completed visits, kept by triggers

Backfilled from the existing orders and checkins in one INSERT..SELECT, then the triggers
(server/db/actuals_rollup.py) keep it in step with every write. Plus a partial index of completed
check-ins by checked_in_at: the visits of a time zone's partial UTC days at the edges of a period
are counted from the raw check-ins of those hours, for every rep at once.

Revision ID: rollup_0006
Revises: fpipe_0005
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

from server.db.actuals_rollup import drop_statements, rebuild_statements, trigger_statements

revision: str = "rollup_0006"
down_revision: str | None = "fpipe_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rep_day_actuals",
        sa.Column("rep_id", GUID(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("revenue", sa.Numeric(16, 2), server_default="0", nullable=False),
        sa.Column("orders", sa.Integer(), server_default="0", nullable=False),
        sa.Column("visits", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("rep_id", "day", name=op.f("pk_rep_day_actuals")),
    )
    op.create_index(
        "ix_rep_day_actuals_day", "rep_day_actuals", ["day"], postgresql_include=["rep_id", "revenue", "visits"]
    )
    done = sa.text("checked_out_at IS NOT NULL")
    op.create_index(
        "ix_checkins_done_checked_in_at",
        "checkins",
        ["checked_in_at", "rep_id"],
        postgresql_where=done,
        sqlite_where=done,
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # Today's rows change all day: vacuum often, so the period reads stay index-only.
        op.execute(
            "ALTER TABLE rep_day_actuals SET (autovacuum_vacuum_scale_factor = 0.02,"
            " autovacuum_vacuum_insert_scale_factor = 0.02)"
        )
    for statement in [*rebuild_statements(dialect), *trigger_statements(dialect)]:
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_checkins_done_checked_in_at", table_name="checkins")
    op.drop_index("ix_rep_day_actuals_day", table_name="rep_day_actuals")
    op.drop_table("rep_day_actuals")
