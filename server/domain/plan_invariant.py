"""The plan invariant, checked over plain data (docs/plans.md, "The invariant").

A plan is cells: (scope, period) with an amount and a parent. A cell's children are either
*time* children (same scope, finer periods that tile the parent's period) or *org* children
(the next level's scopes, same period). For every plan in force:

1. amounts are >= 0, whole numbers for counted metrics and cents for money;
2. time children tile their parent's period and sum exactly to it (year = quarters = months;
   a month = its weeks, ISO weeks clipped to the month);
3. org children have their parent's period and sum exactly to it;
4. an org child mirrors its parent's time cells below the linked period (a rep under a team's
   year has the team's quarters, months and weeks; it may have finer ones of its own), and at
   every such period the org children sum exactly to the parent's cell: the team's March = the
   sum of its reps' Marches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

ScopeKey = tuple[str, Hashable]
PeriodKey = tuple[str, date, date]


@dataclass(frozen=True)
class PlanCell:
    id: Hashable
    scope: ScopeKey
    granularity: str
    start: date
    end: date  # inclusive
    amount: Decimal
    parent_id: Hashable | None

    @property
    def period(self) -> PeriodKey:
        return (self.granularity, self.start, self.end)


def violations(cells: Iterable[PlanCell], counted: bool = False) -> list[str]:
    """Every broken rule as a readable line; empty when the plan adds up."""
    by_id = {cell.id: cell for cell in cells}
    problems: list[str] = []
    quantum = Decimal(1) if counted else Decimal("0.01")
    for cell in by_id.values():
        if cell.amount < 0 or cell.amount != cell.amount.quantize(quantum):
            problems.append(f"{_name(cell)}: amount {cell.amount} is negative or not in whole units")
    time_children: dict[Hashable, list[PlanCell]] = defaultdict(list)
    org_children: dict[Hashable, list[PlanCell]] = defaultdict(list)
    for cell in by_id.values():
        parent = by_id.get(cell.parent_id)
        if parent is None:
            continue
        (time_children if parent.scope == cell.scope else org_children)[parent.id].append(cell)
    for parent_id, children in time_children.items():
        problems += _time_problems(by_id[parent_id], children)
    for parent_id, children in org_children.items():
        parent = by_id[parent_id]
        problems += [
            f"{_name(c)}: org child of {_name(parent)} has another period"
            for c in children
            if c.period != parent.period
        ]
        problems += _sum_problem(parent, children, "org children")
    problems += _grid_problems(by_id, time_children, org_children)
    return problems


def _time_problems(parent: PlanCell, children: list[PlanCell]) -> list[str]:
    problems = []
    if len({c.granularity for c in children}) > 1:
        problems.append(f"{_name(parent)}: time children of several granularities")
    ordered = sorted(children, key=lambda c: c.start)
    expected = parent.start
    for child in ordered:
        if child.start != expected or child.end < child.start:
            problems.append(f"{_name(parent)}: time children do not tile the period at {child.start}")
            break
        expected = child.end + timedelta(days=1)
    else:
        if expected != parent.end + timedelta(days=1):
            problems.append(f"{_name(parent)}: time children end at {expected - timedelta(days=1)}")
    return problems + _sum_problem(parent, children, "time children")


def _grid_problems(
    by_id: dict[Hashable, PlanCell],
    time_children: dict[Hashable, list[PlanCell]],
    org_children: dict[Hashable, list[PlanCell]],
) -> list[str]:
    """Rule 4: below every org link, each child scope mirrors the parent scope's time cells."""
    cell_at: dict[tuple[ScopeKey, PeriodKey], PlanCell] = {(c.scope, c.period): c for c in by_id.values()}
    problems = []
    for parent_id, links in org_children.items():
        linked = by_id[parent_id]
        scopes = [child.scope for child in links]
        below = _time_descendants(linked, time_children)
        for cell in below:
            parts = [cell_at.get((scope, cell.period)) for scope in scopes]
            missing = [scope for scope, part in zip(scopes, parts, strict=True) if part is None]
            if missing:
                problems.append(f"{_name(cell)}: {len(missing)} org children lack this period")
                continue
            problems += _sum_problem(cell, [p for p in parts if p is not None], "org children's cells")
    return problems


def _time_descendants(cell: PlanCell, time_children: dict[Hashable, list[PlanCell]]) -> list[PlanCell]:
    found, stack = [], list(time_children.get(cell.id, []))
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(time_children.get(current.id, []))
    return found


def _sum_problem(parent: PlanCell, parts: list[PlanCell], what: str) -> list[str]:
    total = sum((p.amount for p in parts), Decimal(0))
    if total != parent.amount:
        return [f"{_name(parent)} is {parent.amount} but its {what} sum to {total}"]
    return []


def _name(cell: PlanCell) -> str:
    return f"{cell.scope[0]} {cell.scope[1]} {cell.granularity} {cell.start}..{cell.end}"
