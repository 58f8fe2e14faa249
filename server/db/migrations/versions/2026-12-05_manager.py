"""org_settings: working hours (work_start, work_end) for reminders that respect people's time

Revision ID: manager_0003
Revises: tasks_0002
Create Date: 2026-12-05 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "manager_0003"
down_revision: str | None = "harden_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("org_settings") as batch:
        batch.add_column(sa.Column("work_start", sa.String(length=5), server_default="09:00", nullable=False))
        batch.add_column(sa.Column("work_end", sa.String(length=5), server_default="18:00", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("org_settings") as batch:
        batch.drop_column("work_end")
        batch.drop_column("work_start")
