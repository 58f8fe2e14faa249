"""Apportioning whole units and the plan invariant: tables of cases plus database-free properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.apportion import apportion, apportion_grid, largest_remainder
from server.domain.breakdown import split_grid
from server.domain.plan_invariant import PlanCell, violations

D = Decimal


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (10, dict.fromkeys(range(12), 1), [1] * 10 + [0, 0]),  # 10 visits over 12 months: never -1
        (30, dict.fromkeys(range(53), 1), [1] * 30 + [0] * 23),  # 30 over 53 weeks: never -20
        (7, {"a": 5, "b": 3, "c": 2}, [4, 2, 1]),  # quotas 3.5 / 2.1 / 1.4: the largest remainders
        (1, {"a": 1, "b": 1}, [1, 0]),  # a tie goes to the smaller key
        (5, {"a": 0, "b": 0}, [3, 2]),  # no weights at all: even
        (0, {"a": 3, "b": 1}, [0, 0]),
        (100, {"a": 0, "b": 1}, [0, 100]),
    ],
)
def test_largest_remainder(total: int, weights: dict[object, int], expected: list[int]) -> None:
    parts = largest_remainder(total, {k: D(v) for k, v in weights.items()})
    assert list(parts.values()) == expected
    assert sum(parts.values()) == total


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [(-1, {"a": 1}, "negative total"), (5, {}, "no parts"), (5, {"a": -1, "b": 2}, "negative")],
)
def test_largest_remainder_rejects(total: int, weights: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        largest_remainder(total, {k: D(v) for k, v in weights.items()})


def test_apportion_money_to_the_cent() -> None:
    assert apportion(D("100.00"), {"a": D(1), "b": D(1), "c": D(1)}) == {
        "a": D("33.34"), "b": D("33.33"), "c": D("33.33"),
    }  # fmt: skip
    with pytest.raises(ValueError, match="decimal places"):
        apportion(D("1.005"), {"a": D(1)})


@pytest.mark.parametrize(
    ("rows", "cols", "weights", "expected"),
    [
        # the grid a team's months and its reps' years imply: both margins exact
        ({"r1": 3, "r2": 1}, {"m1": 2, "m2": 2}, None, {("r1", "m1"): 2, ("r1", "m2"): 1, ("r2", "m1"): 0, ("r2", "m2"): 1}),
        # unchanged margins: the cells stay exactly as they were
        ({"r1": 5, "r2": 5}, {"m1": 7, "m2": 3}, {("r1", "m1"): 5, ("r1", "m2"): 0, ("r2", "m1"): 2, ("r2", "m2"): 3},
         {("r1", "m1"): 5, ("r1", "m2"): 0, ("r2", "m1"): 2, ("r2", "m2"): 3}),
        # a zero row stays zero even where its weights were not
        ({"r1": 0, "r2": 4}, {"m1": 1, "m2": 3}, {("r1", "m1"): 9, ("r1", "m2"): 9},
         {("r1", "m1"): 0, ("r1", "m2"): 0, ("r2", "m1"): 1, ("r2", "m2"): 3}),
    ],
)  # fmt: skip
def test_apportion_grid(
    rows: dict[str, int], cols: dict[str, int], weights: dict[tuple[str, str], int] | None, expected: dict
) -> None:
    shape = weights if weights is not None else {(r, c): rows[r] * cols[c] for r in rows for c in cols}
    assert apportion_grid(rows, cols, {k: D(v) for k, v in shape.items()}) == expected


def test_apportion_grid_rejects_unequal_totals() -> None:
    with pytest.raises(ValueError, match="rows sum to 3 but columns to 4"):
        apportion_grid({"a": 3}, {"x": 4}, {})


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=6),
    st.lists(st.integers(0, 20), min_size=1, max_size=14),
    st.data(),
)
def test_grid_always_meets_both_margins_and_never_goes_negative(
    row_totals: list[int], col_weights: list[int], data: st.DataObject
) -> None:
    total = sum(row_totals)
    cols = largest_remainder(total, {j: D(w) for j, w in enumerate(col_weights)})
    weights = {
        (i, j): D(data.draw(st.integers(0, 50)))
        for i in range(len(row_totals))
        for j in range(len(col_weights))
    }
    rows = dict(enumerate(row_totals))
    grid = apportion_grid(rows, cols, weights)
    assert all(v >= 0 for v in grid.values())
    for i, want in rows.items():
        assert sum(grid[(i, j)] for j in cols) == want
    for j, want in cols.items():
        assert sum(grid[(i, j)] for i in rows) == want


def cell(
    id_: str, scope: str, gran: str, start: date, end: date, amount: str, parent: str | None
) -> PlanCell:
    return PlanCell(id_, ("org_unit", scope), gran, start, end, D(amount), parent)


Q1, Q2 = (date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 6, 30))
H1 = (date(2026, 1, 1), date(2026, 6, 30))


def half_year_plan(team_q1: str = "60", rep_q1: tuple[str, str] = ("40", "20")) -> list[PlanCell]:
    """team H1 = 100 split into two quarters and two reps, each rep mirroring the quarters."""
    return [
        cell("T", "team", "half", *H1, "100", None),
        cell("T1", "team", "quarter", *Q1, team_q1, "T"),
        cell("T2", "team", "quarter", *Q2, str(100 - int(team_q1)), "T"),
        cell("A", "a", "half", *H1, "60", "T"),
        cell("A1", "a", "quarter", *Q1, rep_q1[0], "A"),
        cell("A2", "a", "quarter", *Q2, str(60 - int(rep_q1[0])), "A"),
        cell("B", "b", "half", *H1, "40", "T"),
        cell("B1", "b", "quarter", *Q1, rep_q1[1], "B"),
        cell("B2", "b", "quarter", *Q2, str(40 - int(rep_q1[1])), "B"),
    ]


def test_a_plan_that_adds_up_both_ways() -> None:
    assert violations(half_year_plan()) == []


@pytest.mark.parametrize(
    ("plan", "problem"),
    [
        (half_year_plan(rep_q1=("45", "20")), "org children's cells sum to 65"),  # team Q1 60 vs reps 65
        ([c for c in half_year_plan() if c.id != "B1"], "lack this period"),  # a rep does not mirror Q1
        ([*half_year_plan()[:1], cell("X", "team", "quarter", *Q1, "100", "T")], "time children end at"),
        ([cell("T", "team", "half", *H1, "-1", None)], "negative"),
    ],
)
def test_broken_plans_are_named(plan: list[PlanCell], problem: str) -> None:
    assert any(problem in line for line in violations(plan)), violations(plan)


def test_counted_metrics_must_be_whole() -> None:
    assert violations([cell("T", "team", "half", *H1, "1.50", None)], counted=True)


def test_split_grid_rows_and_columns() -> None:
    grid = split_grid({"rep1": D("1000.00"), "rep2": D("234.56")}, {1: D("617.28"), 2: D("617.28")})
    assert sum(grid["rep1"].values()) == D("1000.00") and sum(grid["rep2"].values()) == D("234.56")
    assert grid["rep1"][1] + grid["rep2"][1] == D("617.28")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.integers(min_value=0, max_value=10**11).map(lambda cents: D(cents) / 100), min_size=1, max_size=40
    ).filter(lambda amounts: sum(amounts) > 0)
)
def test_percent_shares_give_back_the_exact_amounts(amounts: list[Decimal]) -> None:
    """An edited proposal entered as an explicit breakdown: shares sum to exactly 100 and the
    split of their total returns every amount to the cent."""
    from server.domain.breakdown import percent_shares, split_amount

    edited = dict(enumerate(amounts))
    shares = percent_shares(edited)
    assert sum(shares.values()) == 100 and all(share >= 0 for share in shares.values())
    assert split_amount(sum(amounts, D(0)), shares) == edited


@pytest.mark.parametrize("amounts", [{"a": D(0)}, {"a": D(5), "b": D(-1)}])
def test_percent_shares_refuse_nothing_or_negative(amounts: dict[str, Decimal]) -> None:
    from server.domain.breakdown import percent_shares

    with pytest.raises(ValueError):
        percent_shares(amounts)
