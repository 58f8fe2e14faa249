"""rep_day_actuals: per rep and day, what orders and completed check-ins add up to.

Derived data, kept by database triggers on orders and checkins (server/db/actuals_rollup.py), so
every write path counts without knowing about it. Never written by the application; rebuilt from
the raw rows by `fieldsales db rebuild-actuals`, and left out of backups (a restore rebuilds it).
"""

from __future__ import annotations

from advanced_alchemy.types import GUID
from sqlalchemy import Column, Date, Index, Integer, Table

from server.db.base import Money, metadata

rep_day_actuals = Table(
    "rep_day_actuals",
    metadata,
    # No foreign key: derived rows, written by triggers only (a key check per order buys nothing).
    Column("rep_id", GUID(), primary_key=True),
    # revenue and orders by orders.ordered_on; visits by the UTC date of checkins.checked_in_at.
    Column("day", Date(), primary_key=True),
    Column("revenue", Money, nullable=False, server_default="0"),
    Column("orders", Integer(), nullable=False, server_default="0"),
    Column("visits", Integer(), nullable=False, server_default="0"),
    # Period-to-date of every rep at once reads a range of days: on PostgreSQL from the index alone.
    Index("ix_rep_day_actuals_day", "day", postgresql_include=["rep_id", "revenue", "visits"]),
)
