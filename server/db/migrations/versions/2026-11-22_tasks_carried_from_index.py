"""tasks: index carried_from_id (the self-reference checked on every task delete)

Revision ID: tasks_0002
Revises: 0001
Create Date: 2026-11-22 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "tasks_0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tasks_carried_from_id", "tasks", ["carried_from_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tasks_carried_from_id", table_name="tasks")
