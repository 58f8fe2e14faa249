"""What a customer's open opportunities mean for the day's plan (DESIGN §5 "Pipeline").

An open deal whose expected close is near, or whose stage has not moved for a while, makes its
customer a visit candidate with its own reason; every open deal adds its probability-weighted
amount to what a visit could bring towards the rep's gap (the plan-gap component).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from server.domain.day_inputs import OpenDeal
from server.domain.scoring import DealSignal


@dataclass(frozen=True)
class DealRule:
    """When a deal asks for a visit (company settings `deal_close_days`, `deal_stale_days`)."""

    close_within_days: int = 14
    stale_after_days: int = 21


DEFAULT_DEAL_RULE = DealRule()
NEAR_CLOSE_REVISIT_DAYS = 7  # a deal near its close asks for a visit at most once a week


def weighted_pipeline(deals: Sequence[OpenDeal]) -> Decimal:
    """Sum of amount x probability of the open deals."""
    return sum((d.amount * d.probability for d in deals), Decimal(0))


def deal_signal(
    deals: Sequence[OpenDeal],
    day: date,
    rule: DealRule = DEFAULT_DEAL_RULE,
    days_since_visit: int | None = None,
) -> DealSignal | None:
    """The deal that most needs a visit: near its close (the nearest first), else the stalest.

    Near: expected close within `close_within_days` from `day`, or already passed while still
    open, and the customer not visited for a week. Stale: neither a stage change nor a visit for
    `stale_after_days` or more. A visit answers the deal's call for a while, so an open deal does
    not send the rep to the same door every day.
    """
    unseen_for = 10**6 if days_since_visit is None else days_since_visit
    best: tuple[tuple[int, int, str], OpenDeal, int | None, int | None] | None = None
    for d in deals:
        to_close = (d.expected_close_on - day).days if d.expected_close_on else None
        still = (day - d.last_step_on).days
        near = to_close is not None and to_close <= rule.close_within_days
        near = near and unseen_for >= NEAR_CLOSE_REVISIT_DAYS
        stale = still >= rule.stale_after_days and unseen_for >= rule.stale_after_days
        if not near and not stale:
            continue
        # nearest close first, then the longest without a step; the title makes ties stable
        key = (to_close if near and to_close is not None else 10**6, -still, d.title)
        if best is None or key < best[0]:
            best = (key, d, still if stale else None, to_close if near else None)
    if best is None:
        return None
    _, deal, stale_days, close_days = best  # one signal, of the best deal only
    return DealSignal(
        title=deal.title, stage=deal.stage, days_without_step=stale_days, days_to_close=close_days
    )
