"""repplan: reps' weekly plans (rep_plans), their to-do items (linked to customers and deals)
and review comments

Revision ID: repplan_0004
Revises: planner_0004
Create Date: 2026-12-05 05:51:16.967977
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "repplan_0004"
down_revision: str | None = "planner_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rep_plans",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("rep_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("submitted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("reviewed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("reviewed_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["users.id"], name=op.f("fk_rep_plans_rep_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["reviewed_by"], ["users.id"], name=op.f("fk_rep_plans_reviewed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rep_plans")),
        sa.UniqueConstraint("rep_id", "week_start", name=op.f("uq_rep_plans_rep_id")),
    )
    with op.batch_alter_table("rep_plans", schema=None) as batch_op:
        batch_op.create_index("ix_rep_plans_week_start", ["week_start"], unique=False)

    op.create_table(
        "rep_plan_items",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("plan_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("due_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("resources", sa.Text(), nullable=True),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("target_value", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("result_text", sa.String(length=300), nullable=True),
        sa.Column("customer_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("opportunity_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("manual_achieved", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("done_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_rep_plan_items_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_rep_plan_items_opportunity_id_opportunities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["rep_plans.id"],
            name=op.f("fk_rep_plan_items_plan_id_rep_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rep_plan_items")),
    )
    with op.batch_alter_table("rep_plan_items", schema=None) as batch_op:
        batch_op.create_index("ix_rep_plan_items_due_at", ["due_at"], unique=False)
        batch_op.create_index("ix_rep_plan_items_plan_id", ["plan_id"], unique=False)

    op.create_table(
        "rep_plan_comments",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("plan_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("item_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("author_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_rep_plan_comments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["rep_plan_items.id"],
            name=op.f("fk_rep_plan_comments_item_id_rep_plan_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["rep_plans.id"],
            name=op.f("fk_rep_plan_comments_plan_id_rep_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rep_plan_comments")),
    )
    with op.batch_alter_table("rep_plan_comments", schema=None) as batch_op:
        batch_op.create_index("ix_rep_plan_comments_plan_id", ["plan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rep_plan_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_rep_plan_comments_plan_id")

    op.drop_table("rep_plan_comments")
    with op.batch_alter_table("rep_plan_items", schema=None) as batch_op:
        batch_op.drop_index("ix_rep_plan_items_plan_id")
        batch_op.drop_index("ix_rep_plan_items_due_at")

    op.drop_table("rep_plan_items")
    with op.batch_alter_table("rep_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_rep_plans_week_start")

    op.drop_table("rep_plans")
