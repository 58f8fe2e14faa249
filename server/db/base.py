"""Declarative bases and column helpers shared by every model.

advanced-alchemy's bases give UUID primary keys, UTC-aware datetimes (DateTimeUTC), a JSON type
that is JSONB on PostgreSQL, and a metadata naming convention so Alembic diffs are stable.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import ClassVar

# advanced-alchemy's mixins still use a decorator SQLAlchemy 2.1 deprecates; silence exactly that.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="The declarative_mixin decorator", category=DeprecationWarning)
    from advanced_alchemy.base import UUIDAuditBase, UUIDBase, orm_registry
from sqlalchemy import JSON, Numeric, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["AuditedBase", "Base", "JSONType", "Money", "metadata", "money_column"]

metadata = orm_registry.metadata

# advanced-alchemy's JsonB breaks on SQLAlchemy 2.1 (it calls a removed util), so JSON
# columns use this portable type: JSONB on PostgreSQL, JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")

# Money and amounts: 14 digits before the point is plenty for any sales plan.
Money = Numeric(16, 2)


def money_column(nullable: bool = False, default: Decimal | None = None) -> Mapped[Decimal]:
    """A Numeric(16, 2) column; money is never a float."""
    return mapped_column(Money, nullable=nullable, default=default)


class Base(UUIDBase):
    """UUID primary key, no audit columns (high-volume rows such as orders and tasks)."""

    __abstract__ = True
    # Declarative types __table__ as FromClause; every model here maps one Table.
    __table__: ClassVar[Table]


class AuditedBase(UUIDAuditBase):
    """UUID primary key plus created_at / updated_at (UTC)."""

    __abstract__ = True
    # Declarative types __table__ as FromClause; every model here maps one Table.
    __table__: ClassVar[Table]
