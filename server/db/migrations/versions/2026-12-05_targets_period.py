"""targets_period: approved targets by (scope, metric, granularity, period_start), so the
progress of every rep (a sweep, a company page) reads the targets of the period from an index
range instead of scanning every target ever set (60 -> 19 ms at 10,000 reps, 266,000 targets).

Revision ID: targets_period_0008
Revises: history_0007
Create Date: 2026-12-05 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "targets_period_0008"
down_revision: str | None = "history_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_targets_approved_period"
APPROVED = sa.text("status = 'approved'")


def upgrade() -> None:
    op.create_index(
        INDEX,
        "targets",
        ["scope", "metric", "granularity", "period_start"],
        postgresql_where=APPROVED,
        sqlite_where=APPROVED,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="targets")
