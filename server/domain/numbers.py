"""Rounding shared by the rules: money to cents and ratios to four places (Decimal), scores to
hundredths (float)."""

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


_SAFE_HUNDREDTHS = 1e12  # below this, value x 100 is off by < 0.001 of a hundredth


def hundredths(value: float) -> int:
    """round(value, 2) x 100, as an int; as clear_hundredths, but round() decides near a half."""
    scaled = value * 100
    rounded = round(scaled)
    if -0.49 < scaled - rounded < 0.49 and -_SAFE_HUNDREDTHS < scaled < _SAFE_HUNDREDTHS:
        return rounded
    return round(round(value, 2) * 100)


def clear_hundredths(value: float) -> int | None:
    """round(value, 2) x 100, as an int, without round()'s decimal string (~0.3 µs): value x 100
    rounded, unless it lies within 0.01 of a half, where its float error (or that of a value
    worked out another way, off by far less) might be on the other side: then None."""
    scaled = value * 100
    rounded = round(scaled)
    if -0.49 < scaled - rounded < 0.49 and -_SAFE_HUNDREDTHS < scaled < _SAFE_HUNDREDTHS:
        return rounded
    return None
