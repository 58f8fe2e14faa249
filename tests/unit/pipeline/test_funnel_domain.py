"""domain.funnel: conversion, time in stage, movement, win rate and coverage on hand-made rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from server.domain.funnel import Change, Deal, Stage, compute_funnel

STAGES = [
    Stage("lead", "Lead", 1, "open"),
    Stage("prop", "Proposal", 2, "open"),
    Stage("neg", "Negotiation", 3, "open"),
    Stage("won", "Won", 4, "won"),
    Stage("lost", "Lost", 5, "lost"),
]
T0 = datetime(2026, 11, 1, tzinfo=UTC)
START, END = T0, T0 + timedelta(days=30)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def path(deal: str, *steps: tuple[str, float]) -> list[Change]:
    """Changes of one deal: (stage, day) in order, the first one its creation."""
    changes, previous = [], None
    for stage, at in steps:
        changes.append(Change(deal, previous, stage, day(at)))
        previous = stage
    return changes


DEALS = [
    Deal("a", "won", Decimal(1000), 100, date(2026, 11, 20)),
    Deal("b", "lost", Decimal(500), 0, date(2026, 11, 25)),
    Deal("c", "neg", Decimal(2000), 75, date(2026, 11, 28)),
    Deal("d", "lead", Decimal(400), 10, date(2026, 12, 15)),  # closes after the plan period
    Deal("e", "prop", Decimal(800), 50, None),  # no expected close: not in the pipeline
]
CHANGES = [
    *path("a", ("lead", -10), ("prop", -6), ("neg", 2), ("won", 5)),
    *path("b", ("lead", -3), ("lost", 4)),
    *path("c", ("lead", 1), ("prop", 3), ("neg", 8)),
    *path("d", ("lead", 12)),
    *path("e", ("lead", 20), ("prop", 22), ("lead", 24), ("prop", 26)),
    *path("late", ("lead", 40)),  # another scope's deal: ignored
]


def test_conversion_movement_and_time_in_stage() -> None:
    funnel = compute_funnel(
        STAGES, DEALS, CHANGES, START, END, date(2026, 11, 18), date(2026, 11, 30), Decimal(3000)
    )
    rates = [(c.from_stage, c.to_stage, c.reached, c.converted) for c in funnel.conversions]
    assert rates == [
        ("Lead", "Proposal", 5, 3),  # a, c, e reached Proposal; b lost at Lead; d still at Lead
        ("Proposal", "Negotiation", 3, 2),
        ("Negotiation", "Won", 2, 1),
    ]
    assert funnel.conversions[0].rate == pytest.approx(0.6)
    # Entered in November: c, d, e (a and b were created in October). Advanced: a prop->neg,
    # c lead->prop and prop->neg, e lead->prop twice (back and forward again counts): 5; the move
    # back is not an advance. Won: a. Lost: b.
    assert (funnel.entered, funnel.advanced, funnel.won, funnel.lost) == (3, 5, 1, 1)
    assert funnel.win_rate == pytest.approx(0.5)
    # Lead stays: a 4, b 7, c 2, e 2 and 2 -> 17/5; Proposal: a 8, c 5, e 2 -> 5; Negotiation: a 3.
    assert funnel.days_in_stage == {
        "Lead": pytest.approx(17 / 5),
        "Proposal": pytest.approx(5),
        "Negotiation": 3,
    }
    assert funnel.open_deals == 3 and funnel.open_amount == Decimal(3200)
    # Only c is open and closes in [18 Nov, 30 Nov]: 2000 x 75%.
    assert funnel.weighted_pipeline == Decimal("1500.00")
    assert funnel.coverage == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("gap", "coverage"), [(None, None), (Decimal(0), None), (Decimal(-5), None), (Decimal(750), 2.0)]
)
def test_coverage_needs_an_open_gap(gap: Decimal | None, coverage: float | None) -> None:
    funnel = compute_funnel(STAGES, DEALS, CHANGES, START, END, date(2026, 11, 18), date(2026, 11, 30), gap)
    assert funnel.coverage == coverage


def test_nothing_decided_has_no_win_rate_and_changes_after_the_end_are_ignored() -> None:
    funnel = compute_funnel(
        STAGES, DEALS, CHANGES, START, day(4), date(2026, 11, 1), date(2026, 11, 30), None
    )
    # Up to 4 Nov: a reached Negotiation (not yet won), b not yet lost, c at Proposal.
    assert (funnel.won, funnel.lost, funnel.win_rate) == (0, 0, None)
    assert [c.converted for c in funnel.conversions] == [2, 1, 0]
