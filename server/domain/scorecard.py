"""Rep scorecard: a weighted blend of result, process and team scores, plus process ratios."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from decimal import Decimal

from server.domain.numbers import ratio

DEFAULT_SCORE_WEIGHTS = (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))
# Snoozed tasks moved to another day on purpose; they are neither kept nor broken promises.
_NOT_COUNTED = frozenset({"snoozed"})


def _clamp(score: Decimal) -> Decimal:
    # Capped at 1 so 150% on results cannot hide a process that is falling apart.
    return min(Decimal(1), max(Decimal(0), score))


def weighted_score(
    result: Decimal,
    process: Decimal,
    team: Decimal,
    weights: tuple[Decimal, Decimal, Decimal] = DEFAULT_SCORE_WEIGHTS,
) -> Decimal:
    """Blend three 0..1 scores (each clamped to 0..1) with weights summing to 1; 4 dp."""
    if any(w < 0 for w in weights) or sum(weights) != 1:
        raise ValueError("scorecard weights must be non-negative and sum to 1")
    scores = (_clamp(result), _clamp(process), _clamp(team))
    return ratio(sum((s * w for s, w in zip(scores, weights, strict=True)), Decimal(0)))


def visit_compliance(task_statuses: Iterable[str]) -> Decimal | None:
    """Share of planned visits done: done / all except snoozed; None with nothing planned."""
    counted = [status for status in task_statuses if status not in _NOT_COUNTED]
    if not counted:
        return None
    return ratio(Decimal(counted.count("done")) / len(counted))


def verified_share(geo_statuses: Iterable[str]) -> Decimal | None:
    """Share of check-ins whose location was verified; None without check-ins."""
    statuses = list(geo_statuses)
    if not statuses:
        return None
    return ratio(Decimal(statuses.count("verified")) / len(statuses))


def reach_rate(assigned: Iterable[Hashable], visited: Iterable[Hashable]) -> Decimal | None:
    """Share of assigned customers visited at least once; None with no assigned customers."""
    assigned_set = set(assigned)
    if not assigned_set:
        return None
    return ratio(Decimal(len(assigned_set & set(visited))) / len(assigned_set))
