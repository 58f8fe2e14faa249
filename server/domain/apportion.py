"""Apportioning whole units (cents, or whole visits) so parts always sum exactly and never go
below zero: one list of parts (largest remainder) or a grid with fixed row and column totals.

Largest remainder (Hamilton): every part gets the floor of its exact quota, and the units left
over go one each to the parts with the largest fractional remainders (ties: larger weight, then
the smaller key). Every part is within one unit of its
exact quota and never negative.

A grid (reps x months) must match both its row totals (each rep's year) and its column totals
(the team's months). The exact shape comes from iterative proportional fitting of the weights
(each cell as close to its weight's share as both totals allow); rounding then picks, per cell,
the floor or the ceiling of that shape so that every row and column total is met exactly
(a bipartite flow; Bacharach 1966 shows such a rounding always exists).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import TypeVar

K = TypeVar("K")
R = TypeVar("R")
C = TypeVar("C")


def to_units(amount: Decimal, places: int) -> int:
    """Decimal amount -> whole units (cents for places=2); ValueError if it has finer digits."""
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {places} decimal places")
    return int(scaled)


def from_units(units: int, places: int) -> Decimal:
    """Whole units -> Decimal with `places` decimals (cents -> 12.34)."""
    return (Decimal(units).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def largest_remainder(total: int, weights: Mapping[K, Decimal | int]) -> dict[K, int]:
    """Split `total` (>= 0) whole units in proportion to `weights` (>= 0); all-zero weights -> even."""
    if total < 0:
        raise ValueError(f"cannot apportion a negative total ({total})")
    if not weights:
        raise ValueError("nothing to split over: no parts")
    exact = {key: Fraction(Decimal(w)) for key, w in weights.items()}
    if any(w < 0 for w in exact.values()):
        raise ValueError("weights must not be negative")
    weight_sum = sum(exact.values(), Fraction(0))
    if weight_sum == 0:
        exact, weight_sum = dict.fromkeys(exact, Fraction(1)), Fraction(len(exact))
    quotas = {key: total * w / weight_sum for key, w in exact.items()}
    parts = {key: floor(q) for key, q in quotas.items()}
    left = total - sum(parts.values())
    try:  # ties by key where keys order, so the answer never depends on the order rows came in
        order = {key: index for index, key in enumerate(sorted(exact))}  # type: ignore[type-var]
    except TypeError:
        order = {key: index for index, key in enumerate(exact)}
    ranked = sorted(quotas, key=lambda k: (-(quotas[k] - parts[k]), -exact[k], order[k]))
    for key in ranked[:left]:
        parts[key] += 1
    return parts


def apportion(total: Decimal, weights: Mapping[K, Decimal | int], places: int = 2) -> dict[K, Decimal]:
    """largest_remainder on Decimal amounts with `places` decimals (2 for money, 0 for counts)."""
    units = largest_remainder(to_units(total, places), weights)
    return {key: from_units(value, places) for key, value in units.items()}


def _fit(
    rows: Mapping[R, int], cols: Mapping[C, int], weights: Mapping[tuple[R, C], Decimal | int]
) -> dict[tuple[R, C], float]:
    """Iterative proportional fitting: the weights scaled to the row and column totals."""
    shape: dict[tuple[R, C], float] = {}
    for r in rows:
        for c in cols:
            shape[(r, c)] = float(weights.get((r, c), 0)) if rows[r] and cols[c] else 0.0
    # A positive floor on every cell that may hold units keeps the fit feasible whatever the zeros.
    scale = max([v for v in shape.values() if v > 0], default=1.0)
    for cell, value in shape.items():
        if rows[cell[0]] and cols[cell[1]]:
            shape[cell] = value + scale * 1e-9
    for _ in range(500):
        for r, want in rows.items():
            have = sum(shape[(r, c)] for c in cols)
            if have:
                for c in cols:
                    shape[(r, c)] *= want / have
        worst = 0.0
        for c, want in cols.items():
            have = sum(shape[(r, c)] for r in rows)
            if have:
                for r in rows:
                    shape[(r, c)] *= want / have
            worst = max(worst, abs(have - want))
        if worst < 1e-7:
            break
    return shape


def apportion_grid(
    rows: Mapping[R, int], cols: Mapping[C, int], weights: Mapping[tuple[R, C], Decimal | int]
) -> dict[tuple[R, C], int]:
    """Whole units per (row, column) cell, >= 0, summing exactly to every row and column total.

    Rows and columns must be >= 0 and have the same grand total. Cells follow `weights` as
    closely as both totals allow (all-zero weights: the product of the totals).
    """
    if any(v < 0 for v in (*rows.values(), *cols.values())):
        raise ValueError("row and column totals must not be negative")
    if sum(rows.values()) != sum(cols.values()):
        raise ValueError(f"rows sum to {sum(rows.values())} but columns to {sum(cols.values())}")
    shape = _fit(rows, cols, weights)
    floors = {cell: max(0, floor(value - 1e-6)) for cell, value in shape.items()}
    row_need = {r: rows[r] - sum(floors[(r, c)] for c in cols) for r in rows}
    col_need = {c: cols[c] - sum(floors[(r, c)] for r in rows) for c in cols}
    if any(v < 0 for v in (*row_need.values(), *col_need.values())):
        raise ValueError("grid rounding overshot a total")  # floors of the fit: cannot happen
    fractional = [cell for cell in shape if shape[cell] - floors[cell] > 1e-9]
    added = _round_up(row_need, col_need, fractional, shape, floors)
    if added is None:  # float noise left a unit nowhere to go: any open cell may take it
        open_cells = [cell for cell in shape if rows[cell[0]] and cols[cell[1]]]
        added = _round_up(row_need, col_need, open_cells, shape, floors, unlimited=True)
    if added is None:
        raise ValueError("grid totals cannot be met")
    return {cell: floors[cell] + added.get(cell, 0) for cell in shape}


def _round_up(
    row_need: Mapping[R, int],
    col_need: Mapping[C, int],
    allowed: list[tuple[R, C]],
    shape: Mapping[tuple[R, C], float],
    floors: Mapping[tuple[R, C], int],
    unlimited: bool = False,
) -> dict[tuple[R, C], int] | None:
    """Units to add per cell (one each, or any number when `unlimited`) meeting every need.

    Greedy by largest fractional part first, then breadth-first augmenting paths, which may move
    a greedy unit to another cell of its row (a max flow; None when the needs cannot be met).
    """
    cap = len(row_need) + len(col_need) + sum(row_need.values()) if unlimited else 1
    flow: dict[tuple[R, C], int] = {}
    rows_left, cols_left = dict(row_need), dict(col_need)
    by_row: dict[R, list[C]] = {}
    by_col: dict[C, list[R]] = {}
    for r, c in sorted(allowed, key=lambda cell: -(shape[cell] - floors[cell])):
        by_row.setdefault(r, []).append(c)
        by_col.setdefault(c, []).append(r)
        if rows_left[r] > 0 and cols_left[c] > 0:
            flow[(r, c)] = 1
            rows_left[r] -= 1
            cols_left[c] -= 1
    for start in [r for r in rows_left if rows_left[r] > 0]:
        while rows_left[start] > 0:
            path = _path(start, by_row, by_col, flow, cols_left, cap)
            if path is None:
                return None
            for cell, step in path:
                flow[cell] = flow.get(cell, 0) + step
            rows_left[start] -= 1
            cols_left[path[0][0][1]] -= 1
    return flow


def _path(
    start: R,
    by_row: Mapping[R, list[C]],
    by_col: Mapping[C, list[R]],
    flow: Mapping[tuple[R, C], int],
    cols_left: Mapping[C, int],
    cap: int,
) -> list[tuple[tuple[R, C], int]] | None:
    """An alternating path: +1 on row -> column, -1 on the column's unit taken back from another
    row, ... ending at a column that still needs a unit (breadth first; None when there is none)."""
    row_before: dict[C, R] = {}  # column reached from this row (+1)
    col_before: dict[R, C] = {}  # row reached by taking back its unit in this column (-1)
    queue: deque[R] = deque([start])
    seen_rows = {start}
    while queue:
        r = queue.popleft()
        for c in by_row.get(r, []):
            if c in row_before or flow.get((r, c), 0) >= cap:
                continue
            row_before[c] = r
            if cols_left[c] > 0:
                steps: list[tuple[tuple[R, C], int]] = []
                column = c
                while True:
                    row = row_before[column]
                    steps.append(((row, column), 1))
                    if row == start:
                        return steps
                    column = col_before[row]
                    steps.append(((row, column), -1))
            for other in by_col.get(c, []):
                if other not in seen_rows and flow.get((other, c), 0) > 0:
                    seen_rows.add(other)
                    col_before[other] = c
                    queue.append(other)
    return None
