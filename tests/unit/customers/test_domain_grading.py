import sqlite3
from datetime import date
from decimal import Decimal

import pytest

from server.domain.grading import (
    GRADE_DROP_FROM_A,
    RfmScore,
    classify_abc,
    effective_grade,
    grade_change_signal,
    rfm_scores,
)


@pytest.mark.parametrize(
    ("revenues", "expected"),
    [
        ({}, {}),
        ({"solo": 100}, {"solo": "A"}),  # a lone customer is all of the revenue
        ({"a": 0, "b": 0}, {"a": "D", "b": "D"}),
        # Cumulative shares 50/80/95/99/100%: distinct values follow "<= 80% A, <= 95% B".
        ({"a": 50, "b": 30, "c": 15, "d": 4, "e": 1}, dict(zip("abcde", "AABCC", strict=True))),
        # The customer that crosses 80% is A (the smallest set reaching 80% of revenue).
        ({"a": 60, "b": 30, "c": 10}, {"a": "A", "b": "A", "c": "B"}),
        # One huge customer is A; the rest follow the rule on the shares before them.
        ({"big": 900, "x": 50, "y": 30, "z": 20}, {"big": "A", "x": "B", "y": "C", "z": "C"}),
        # Ties straddling a cutoff share the better grade, whatever the key order.
        ({"a": 70, "b": 10, "c": 10, "d": 10}, {"a": "A", "b": "A", "c": "A", "d": "A"}),
        ({"d": 10, "c": 10, "b": 10, "a": 70}, {"a": "A", "b": "A", "c": "A", "d": "A"}),
        ({"a": 85, "b": 5, "c": 5, "d": 5}, {"a": "A", "b": "B", "c": "B", "d": "B"}),
        ({"a": 50, "b": 20, "c": 20, "d": 10}, {"a": "A", "b": "A", "c": "A", "d": "B"}),
        # No revenue or net returns -> D, and they do not dilute the others' shares.
        ({"a": 80, "b": 20, "p": 0, "r": -30}, {"a": "A", "b": "B", "p": "D", "r": "D"}),
        ({"a": 5, "b": 5, "c": 5}, {"a": "A", "b": "A", "c": "A"}),  # all equal: all tied
    ],
)
def test_classify_abc(revenues: dict[str, int], expected: dict[str, str]) -> None:
    assert classify_abc({k: Decimal(v) for k, v in revenues.items()}) == expected


def test_classify_abc_custom_cutoffs() -> None:
    revenues = {"a": Decimal(60), "b": Decimal(30), "c": Decimal(10)}
    assert classify_abc(revenues, Decimal("0.5"), Decimal("0.6")) == {"a": "A", "b": "C", "c": "C"}


@pytest.mark.parametrize(("a_cut", "b_cut"), [("0.9", "0.8"), ("0", "0.5"), ("0.8", "1.1")])
def test_classify_abc_rejects_bad_cutoffs(a_cut: str, b_cut: str) -> None:
    with pytest.raises(ValueError, match="cutoffs"):
        classify_abc({"a": Decimal(1)}, Decimal(a_cut), Decimal(b_cut))


ABC_SQL = """
SELECT id, CASE WHEN richer < 0.80 * total THEN 'A' WHEN richer < 0.95 * total THEN 'B' ELSE 'C' END
FROM (SELECT id,
        SUM(revenue) OVER (ORDER BY revenue DESC)
          - SUM(revenue) OVER (PARTITION BY revenue) AS richer,
        SUM(revenue) OVER () AS total
      FROM revenue WHERE revenue > 0)
"""
RFM_FREQUENCY_SQL = """
SELECT id, 1 + (5 * (2 * (RANK() OVER w - 1) + COUNT(*) OVER (PARTITION BY frequency)))
                / (2 * COUNT(*) OVER ())
FROM revenue WHERE frequency > 0 WINDOW w AS (ORDER BY frequency)
"""


def test_documented_sql_matches_the_python_rules() -> None:
    """The docstrings promise SQL equivalents; run them on SQLite to keep them honest."""
    rows = [
        ("a", 700, 9), ("b", 100, 4), ("c", 100, 4), ("d", 50, 2), ("e", 30, 2),
        ("f", 10, 1), ("g", 10, 1), ("h", 0, 0), ("i", 5, 1), ("j", 1, 3), ("k", 94, 6),
    ]  # fmt: skip
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE revenue (id TEXT, revenue INTEGER, frequency INTEGER)")
    db.executemany("INSERT INTO revenue VALUES (?, ?, ?)", rows)
    abc = {k: "D" for k, _, _ in rows} | dict(db.execute(ABC_SQL).fetchall())
    assert abc == classify_abc({k: Decimal(r) for k, r, _ in rows})
    assert len(set(abc.values())) == 4  # the fixture exercises every grade

    frequency_sql = dict(db.execute(RFM_FREQUENCY_SQL).fetchall())
    python = rfm_scores({k: (1 if f else None, f, Decimal(r)) for k, r, f in rows})
    assert frequency_sql == {k: s.frequency for k, s in python.items() if k != "h"}


def _rfm(values: list[tuple[int | None, int, int]]) -> list[tuple[int, int, int]]:
    scores = rfm_scores({i: (r, f, Decimal(m)) for i, (r, f, m) in enumerate(values)})
    return [tuple(scores[i]) for i in range(len(values))]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # Five distinct customers: exact quintiles; fewer days since an order is better.
        (
            [(50, 1, 10), (40, 2, 20), (30, 3, 30), (20, 4, 40), (10, 5, 50)],
            [(1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4), (5, 5, 5)],
        ),
        # Ten distinct customers: two per quintile, as NTILE(5) would give.
        (
            [(100 - i, i + 1, i + 1) for i in range(10)],
            [(s, s, s) for s in (1, 1, 2, 2, 3, 3, 4, 4, 5, 5)],
        ),
        # Equal values share a score, placed at the middle of the tied group.
        (
            [(10, 1, 5), (10, 1, 5), (20, 2, 9), (30, 3, 9), (40, 3, 9)],
            [(5, 2, 2), (5, 2, 2), (3, 3, 4), (2, 5, 4), (1, 5, 4)],
        ),
        # One customer, or everyone alike: nothing to compare, so a neutral 3.
        ([(5, 2, 100)], [(3, 3, 3)]),
        ([(7, 2, 10), (7, 2, 10), (7, 2, 10)], [(3, 3, 3)] * 3),
        # No orders -> 1/1/1, and not part of the ranking (the other two stay spread out).
        ([(None, 0, 0), (10, 1, 5), (5, 4, 50)], [(1, 1, 1), (2, 2, 2), (4, 4, 4)]),
        ([(None, 0, 0)], [(1, 1, 1)]),
    ],
)
def test_rfm_scores(rows: list[tuple[int | None, int, int]], expected: list[tuple[int, int, int]]) -> None:
    assert _rfm(rows) == expected


def test_rfm_scores_are_named() -> None:
    scores = rfm_scores({"x": (3, 1, Decimal(1))})
    assert scores["x"] == RfmScore(recency=3, frequency=3, monetary=3)


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("override", "until", "expected"),
    [
        (None, None, "C"),
        ("A", None, "A"),  # open-ended override
        ("A", TODAY, "A"),  # "until" is inclusive
        ("A", date(2026, 11, 22), "C"),  # expired
        ("D", date(2026, 12, 31), "D"),  # overrides can lower a grade too
    ],
)
def test_effective_grade(override: str | None, until: date | None, expected: str) -> None:
    assert effective_grade("C", override, until, TODAY) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "new", "signal"),
    [
        ("A", "B", GRADE_DROP_FROM_A),
        ("A", "D", GRADE_DROP_FROM_A),
        ("A", "A", None),
        ("B", "C", None),
        ("B", "A", None),
        (None, "A", None),
    ],
)
def test_grade_change_signal(old: str | None, new: str, signal: str | None) -> None:
    assert grade_change_signal(old, new) == signal  # type: ignore[arg-type]
