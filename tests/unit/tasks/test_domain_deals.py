"""deal_signal and weighted_pipeline: which open deal asks for a visit, and what it adds to the
plan gap (server/domain/deals.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from server.domain.day_inputs import OpenDeal
from server.domain.deals import DealRule, deal_signal, weighted_pipeline

DAY = date(2026, 11, 16)
RULE = DealRule(close_within_days=14, stale_after_days=21)


def deal(title: str = "Spring order", closes_in: int | None = 30, still: int = 5, amount: str = "1000",
         probability: str = "0.5") -> OpenDeal:  # fmt: skip
    close = DAY + timedelta(days=closes_in) if closes_in is not None else None
    return OpenDeal(UUID(int=1), title, "Proposal", Decimal(amount), Decimal(probability), close,
                    DAY - timedelta(days=still))  # fmt: skip


@pytest.mark.parametrize(
    ("closes_in", "still", "seen", "expected"),
    [
        (9, 12, None, (None, 9)),  # near, not stale yet
        (9, 25, 30, (25, 9)),  # near and stale
        (40, 25, 30, (25, None)),  # stale only
        (-3, 5, 10, (None, -3)),  # close date passed, still open
        (40, 5, None, None),  # neither
        (9, 12, 3, None),  # near, but seen three days ago: no call before a week
        (40, 25, 10, None),  # stale deal, but its customer was visited 10 days ago
        (None, 25, None, (25, None)),  # no expected close: only staleness counts
    ],
)
def test_when_a_deal_asks_for_a_visit(
    closes_in: int | None, still: int, seen: int | None, expected: tuple[int | None, int | None] | None
) -> None:
    signal = deal_signal([deal(closes_in=closes_in, still=still)], DAY, RULE, seen)
    if expected is None:
        assert signal is None
    else:
        assert signal is not None and (signal.days_without_step, signal.days_to_close) == expected


def test_the_nearest_close_wins_then_the_stalest() -> None:
    deals = [deal("Later", closes_in=12), deal("Sooner", closes_in=4), deal("Stuck", closes_in=60, still=50)]
    assert deal_signal(deals, DAY, RULE).title == "Sooner"  # type: ignore[union-attr]
    stale_only = [deal("Stuck", closes_in=60, still=30), deal("Stuck longer", closes_in=60, still=45)]
    assert deal_signal(stale_only, DAY, RULE).title == "Stuck longer"  # type: ignore[union-attr]


def test_weighted_pipeline_is_amount_times_probability() -> None:
    assert (
        weighted_pipeline([deal(amount="1000", probability="0.5"), deal(amount="800", probability="0.25")])
        == 700
    )
    assert weighted_pipeline([]) == 0
