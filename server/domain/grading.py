"""Customer grades: ABC by revenue share, RFM quintile scores, overrides, change signals."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Hashable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal, NamedTuple, TypeVar

Grade = Literal["A", "B", "C", "D"]
GRADE_DROP_FROM_A = "drop_from_a"

K = TypeVar("K", bound=Hashable)


def classify_abc(
    revenues: Mapping[K, Decimal],
    a_cut: Decimal = Decimal("0.80"),
    b_cut: Decimal = Decimal("0.95"),
) -> dict[K, Grade]:
    """Grade customers by their place in the revenue ranking (Pareto ABC).

    A customer's *richer share* is the revenue share of all customers strictly richer than it.
    richer share < a_cut -> A, < b_cut -> B, otherwise C; revenue <= 0 -> D. So A is the
    smallest top set that reaches 80% of revenue (the customer crossing 80% is A, a lone
    customer is A), and customers with equal revenue always share a grade.

    The same rule in SQL (the default ORDER BY frame is RANGE ... CURRENT ROW, so peers with equal
    revenue are included and then subtracted as a group)::

        SELECT id, CASE
            WHEN richer < 0.80 * total THEN 'A' WHEN richer < 0.95 * total THEN 'B' ELSE 'C' END
        FROM (SELECT id,
                SUM(revenue) OVER (ORDER BY revenue DESC)
                  - SUM(revenue) OVER (PARTITION BY revenue) AS richer,
                SUM(revenue) OVER () AS total
              FROM revenue_365 WHERE revenue > 0) ranked
        -- customers absent here (no positive revenue) are 'D'
    """
    if not 0 < a_cut <= b_cut <= 1:
        raise ValueError("cutoffs must satisfy 0 < a_cut <= b_cut <= 1")
    counts = Counter(value for value in revenues.values() if value > 0)
    total = sum((value * n for value, n in counts.items()), Decimal(0))

    richer_by_value: dict[Decimal, Decimal] = {}
    running = Decimal(0)
    for value in sorted(counts, reverse=True):
        richer_by_value[value] = running
        running += value * counts[value]

    grades: dict[K, Grade] = {}
    for key, revenue in revenues.items():
        if revenue <= 0:
            grades[key] = "D"
        elif richer_by_value[revenue] < a_cut * total:
            grades[key] = "A"
        elif richer_by_value[revenue] < b_cut * total:
            grades[key] = "B"
        else:
            grades[key] = "C"
    return grades


class RfmScore(NamedTuple):
    recency: int
    frequency: int
    monetary: int


NO_ORDERS_RFM = RfmScore(1, 1, 1)


def _quintile(worse: int, peers: int, ranked: int) -> int:
    # Midpoint percentile (share strictly worse + half the share tied, incl. itself), in fifths.
    # Ties share a score, a lone or all-tied population scores a neutral 3, and for distinct
    # values with n a multiple of 5 this is exactly NTILE(5).
    return 1 + (5 * (2 * worse + peers)) // (2 * ranked)


def rfm_scores(rows: Mapping[K, tuple[int | None, int, Decimal]]) -> dict[K, RfmScore]:
    """1-5 quintile scores per customer from (recency_days, frequency, monetary).

    Only customers with orders (frequency > 0 and a recency) are ranked; the rest get 1/1/1.
    Fewer days since the last order is better. Equivalent SQL per dimension in exact integer
    arithmetic, with ``w AS (ORDER BY frequency)`` (``ORDER BY recency_days DESC`` for recency)::

        1 + (5 * (2 * (RANK() OVER w - 1) + COUNT(*) OVER (PARTITION BY frequency)))
            / (2 * COUNT(*) OVER ())
    """
    ranked: dict[K, tuple[int, int, Decimal]] = {}
    for key, (recency, frequency, monetary) in rows.items():
        if frequency > 0 and recency is not None:
            ranked[key] = (recency, frequency, monetary)
    n = len(ranked)
    recencies = sorted(recency for recency, _, _ in ranked.values())
    frequencies = sorted(frequency for _, frequency, _ in ranked.values())
    monetaries = sorted(monetary for _, _, monetary in ranked.values())

    def higher_is_better(values: list[Any], value: Any) -> int:
        lower, upper = bisect_left(values, value), bisect_right(values, value)
        return _quintile(lower, upper - lower, n)

    def lower_is_better(values: list[Any], value: Any) -> int:
        lower, upper = bisect_left(values, value), bisect_right(values, value)
        return _quintile(n - upper, upper - lower, n)

    scores: dict[K, RfmScore] = {}
    for key in rows:
        if key not in ranked:
            scores[key] = NO_ORDERS_RFM
            continue
        recency, frequency, monetary = ranked[key]
        scores[key] = RfmScore(
            recency=lower_is_better(recencies, recency),
            frequency=higher_is_better(frequencies, frequency),
            monetary=higher_is_better(monetaries, monetary),
        )
    return scores


def effective_grade(
    computed: Grade, override: Grade | None, override_until: date | None, today: date
) -> Grade:
    """The override wins through `override_until` (inclusive; None = until removed)."""
    if override is not None and (override_until is None or today <= override_until):
        return override
    return computed


def grade_change_signal(old: Grade | None, new: Grade) -> str | None:
    """GRADE_DROP_FROM_A when an A customer loses its A (planner and manager act on it)."""
    if old == "A" and new != "A":
        return GRADE_DROP_FROM_A
    return None
