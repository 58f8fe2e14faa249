"""plans: targets.baseline_amount (the ±15% reference) and target_adjustments.mode

Revision ID: plans_0003
Revises: tasks_0002
Create Date: 2026-12-05 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "plans_0003"
down_revision: str | None = "tasks_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.add_column(sa.Column("baseline_amount", sa.Numeric(16, 2), nullable=True))
    # Targets approved before this revision: their current amount is the baseline.
    op.execute("UPDATE targets SET baseline_amount = amount WHERE status = 'approved'")
    with op.batch_alter_table("target_adjustments") as batch:
        batch.add_column(
            sa.Column("mode", sa.String(length=10), server_default="rebalance", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("target_adjustments") as batch:
        batch.drop_column("mode")
    with op.batch_alter_table("targets") as batch:
        batch.drop_column("baseline_amount")
