"""pipeline: opportunity_stages (seeded with the default funnel for every company), opportunities,
opportunity_stage_changes

Revision ID: pipeline_0004
Revises: setup_0003
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "pipeline_0004"
down_revision: str | None = "setup_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
MONEY = sa.Numeric(16, 2)

# Frozen copy of domain.funnel.DEFAULT_STAGES as of this revision: (name, probability, kind).
_DEFAULT_STAGES = (
    ("Lead", 10, "open"),
    ("Qualified", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
)


def upgrade() -> None:
    stages = op.create_table(
        "opportunity_stages",
        sa.Column("id", GUID, nullable=False),
        sa.Column("company_id", GUID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("default_probability", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["org_units.id"],
            name=op.f("fk_opportunity_stages_company_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity_stages")),
        sa.UniqueConstraint("company_id", "name", name=op.f("uq_opportunity_stages_company_id")),
    )
    op.create_index(
        "ix_opportunity_stages_company_id_position",
        "opportunity_stages",
        ["company_id", "position"],
        unique=False,
    )
    op.create_table(
        "opportunities",
        sa.Column("id", GUID, nullable=False),
        sa.Column("company_id", GUID, nullable=False),
        sa.Column("org_unit_id", GUID, nullable=False),
        sa.Column("customer_id", GUID, nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stage_id", GUID, nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("probability_overridden", sa.Boolean(), nullable=False),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("owner_rep_id", GUID, nullable=True),
        sa.Column("next_step", sa.String(length=500), nullable=True),
        sa.Column("lost_reason", sa.String(length=500), nullable=True),
        sa.Column("stage_changed_at", UTC, nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("order_id", GUID, nullable=True),
        sa.Column("source_checkin_id", GUID, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["org_units.id"], name=op.f("fk_opportunities_company_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_opportunities_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_opportunities_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"], ["opportunity_stages.id"], name=op.f("fk_opportunities_stage_id_opportunity_stages")
        ),
        sa.ForeignKeyConstraint(
            ["owner_rep_id"], ["users.id"], name=op.f("fk_opportunities_owner_rep_id_users")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_opportunities_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["source_checkin_id"], ["checkins.id"], name=op.f("fk_opportunities_source_checkin_id_checkins")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_opportunities_external_ref")),
        sa.UniqueConstraint("order_id", name=op.f("uq_opportunities_order_id")),
        sa.UniqueConstraint("source_checkin_id", name=op.f("uq_opportunities_source_checkin_id")),
    )
    op.create_index(
        "ix_opportunities_company_id_expected_close",
        "opportunities",
        ["company_id", "expected_close"],
        unique=False,
    )
    op.create_index("ix_opportunities_customer_id", "opportunities", ["customer_id"], unique=False)
    op.create_index("ix_opportunities_org_unit_id", "opportunities", ["org_unit_id"], unique=False)
    op.create_index(
        "ix_opportunities_owner_rep_id_stage_id", "opportunities", ["owner_rep_id", "stage_id"], unique=False
    )
    op.create_table(
        "opportunity_stage_changes",
        sa.Column("id", GUID, nullable=False),
        sa.Column("opportunity_id", GUID, nullable=False),
        sa.Column("from_stage_id", GUID, nullable=True),
        sa.Column("to_stage_id", GUID, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("by_user_id", GUID, nullable=True),
        sa.Column("checkin_id", GUID, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_stage_changes_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_stage_id"],
            ["opportunity_stages.id"],
            name=op.f("fk_opportunity_stage_changes_from_stage_id_opportunity_stages"),
        ),
        sa.ForeignKeyConstraint(
            ["to_stage_id"],
            ["opportunity_stages.id"],
            name=op.f("fk_opportunity_stage_changes_to_stage_id_opportunity_stages"),
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"], ["users.id"], name=op.f("fk_opportunity_stage_changes_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkins.id"], name=op.f("fk_opportunity_stage_changes_checkin_id_checkins")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity_stage_changes")),
        sa.UniqueConstraint("checkin_id", name=op.f("uq_opportunity_stage_changes_checkin_id")),
    )
    op.create_index("ix_opportunity_stage_changes_at", "opportunity_stage_changes", ["at"], unique=False)
    op.create_index(
        "ix_opportunity_stage_changes_opportunity_id_at",
        "opportunity_stage_changes",
        ["opportunity_id", "at"],
        unique=False,
    )
    # Every existing company starts with the default funnel.
    org_units = sa.table("org_units", sa.column("id", GUID), sa.column("parent_id", GUID))
    companies = op.get_bind().execute(sa.select(org_units.c.id).where(org_units.c.parent_id.is_(None)))
    rows = [
        {
            "id": uuid.uuid4(),
            "company_id": company_id,
            "name": name,
            "position": position,
            "default_probability": probability,
            "kind": kind,
            "active": True,
        }
        for (company_id,) in companies
        for position, (name, probability, kind) in enumerate(_DEFAULT_STAGES, start=1)
    ]
    if rows:
        op.bulk_insert(stages, rows)


def downgrade() -> None:
    op.drop_index("ix_opportunity_stage_changes_opportunity_id_at", table_name="opportunity_stage_changes")
    op.drop_index("ix_opportunity_stage_changes_at", table_name="opportunity_stage_changes")
    op.drop_table("opportunity_stage_changes")
    op.drop_index("ix_opportunities_owner_rep_id_stage_id", table_name="opportunities")
    op.drop_index("ix_opportunities_org_unit_id", table_name="opportunities")
    op.drop_index("ix_opportunities_customer_id", table_name="opportunities")
    op.drop_index("ix_opportunities_company_id_expected_close", table_name="opportunities")
    op.drop_table("opportunities")
    op.drop_index("ix_opportunity_stages_company_id_position", table_name="opportunity_stages")
    op.drop_table("opportunity_stages")
