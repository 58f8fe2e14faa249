"""Amounts a rep can trust: when an order needs confirming, and what a correction may do."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

HISTORY_FACTOR = Decimal(10)  # "far above": more than 10x the customer's largest recent order
HISTORY_DAYS = 365
REP_CORRECTION_WINDOW = timedelta(hours=24)


def needs_confirmation(amount: Decimal, largest_recent: Decimal | None, ceiling: Decimal) -> bool:
    """An amount far above the customer's history (more than 10x its largest order of the last
    365 days, none counting as 0) and at least the company's ceiling: likely a typo (an extra zero)
    unless the rep confirms it."""
    return amount > HISTORY_FACTOR * (largest_recent or Decimal(0)) and amount >= ceiling


def correction_problem(
    *,
    original: Decimal,
    corrected_so_far: Decimal,
    delta: Decimal,
    by_taker: bool,
    by_manager: bool,
    created_at: datetime,
    now: datetime,
) -> tuple[str, str] | None:
    """(field, reason) when a correction of an order is not allowed, else None.

    The rep who took the order may correct it within 24 h; their manager (or anyone above) at
    any time. A correction never takes the order below zero; a zero correction changes nothing.
    """
    if not by_manager and not (by_taker and now - created_at <= REP_CORRECTION_WINDOW):
        return ("order_id", "only the rep within 24 hours of the order, or their manager, may correct it")
    if delta == 0:
        return ("amount", "must not be zero")
    if original + corrected_so_far + delta < 0:
        return ("amount", f"would take the order below zero (it stands at {original + corrected_so_far})")
    return None
