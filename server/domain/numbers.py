"""Decimal rounding shared by the rules: money to cents, ratios to four places."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MONEY = Decimal("0.01")
RATIO = Decimal("0.0001")


def money(value: Decimal) -> Decimal:
    """Round an amount to cents, half up (what people expect on a report)."""
    return value.quantize(MONEY, rounding=ROUND_HALF_UP)


def ratio(value: Decimal) -> Decimal:
    """Round a ratio (pace, share, lag) to four places, half up."""
    return value.quantize(RATIO, rounding=ROUND_HALF_UP)
