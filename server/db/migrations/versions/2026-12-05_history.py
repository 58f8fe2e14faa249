"""history: orders by customer and day carry the amount (INCLUDE), so the planner's
365-day history of a batch of customers is an index-only scan per customer instead of a
sequential scan of every order per batch (PostgreSQL; SQLite has no INCLUDE and keeps the index).

Revision ID: history_0007
Revises: rollup_0006
Create Date: 2026-12-05 13:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "history_0007"
down_revision: str | None = "rollup_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_orders_customer_id_ordered_on"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name="orders")
    op.create_index(INDEX, "orders", ["customer_id", "ordered_on"], postgresql_include=["amount"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name="orders")
    op.create_index(INDEX, "orders", ["customer_id", "ordered_on"])
