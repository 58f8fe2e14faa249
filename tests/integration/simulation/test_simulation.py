"""The quarter simulator (server/simulation): deterministic for a seed, and its world's rules.

Runs on its own temporary SQLite files (no engine-parametrized fixtures): the simulator builds,
seeds and copies its databases itself.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from server.simulation.baselines import CandidateRow, MostOverdueFirst, RandomPick, RoundRobin
from server.simulation.chart import svg_chart
from server.simulation.run import simulate
from server.simulation.template import SimulationConfig
from server.simulation.world import CustomerState, CustomerTruth, Draws, World

SMALL = SimulationConfig(weeks=1, reps=3, seed=11)


@pytest.mark.heavy
async def test_same_seed_gives_identical_numbers(tmp_path: Path) -> None:
    planners = ["ours", "random"]
    first, _ = await simulate(SMALL, planners, workdir=tmp_path / "first")
    second, _ = await simulate(SMALL, planners, workdir=tmp_path / "second")

    assert [r.numbers() for r in first] == [r.numbers() for r in second]
    ours = first[0]
    assert ours.planner == "ours" and ours.reps == 3 and ours.weeks == 1
    assert ours.visits > 0 and Decimal(ours.revenue) > 0 and Decimal(ours.plan) > 0
    assert ours.rep_days_worked + ours.rep_days_absent == 3 * 5  # 5 working days in the week
    assert 0 <= ours.attainment and 0 <= (ours.hit_rate or 0) <= 1
    assert set(ours.compliance) >= {"A", "B", "C"}
    assert "<svg" in svg_chart(first) and "ours" in svg_chart(first)


def _world(cycle: float = 10.0) -> World:
    customer = UUID(int=1)
    truth = CustomerTruth(customer, UUID(int=2), "A", cycle, (Decimal("100.00"),), Decimal(100), 31.0, 121.0)
    day = date(2026, 4, 1)
    return World([truth], {customer: CustomerState(last_met=day, last_order=day)}, seed=3)


def test_order_chance_grows_with_time_since_last_met_and_caps_at_p_max() -> None:
    world, customer, day = _world(), UUID(int=1), date(2026, 4, 1)
    chances = [world.p_order(customer, day + timedelta(days=n)) for n in (0, 3, 7, 10, 30)]
    assert chances == sorted(chances)
    assert chances[0] == 0 and chances[-1] == world.params.p_max["A"] == chances[-2]


def test_unvisited_orders_fade_when_the_customer_is_neglected() -> None:
    world, customer, day = _world(), UUID(int=1), date(2026, 4, 1)
    world.state[customer].last_order = day + timedelta(days=60)  # demand ramp full in both cases
    fresh = world.unvisited_rate(customer, day + timedelta(days=70))  # met 70 days ago: 7 cycles
    world.state[customer].last_met = day + timedelta(days=65)
    recent = world.unvisited_rate(customer, day + timedelta(days=70))
    assert 0 < fresh < recent


def test_draws_are_keyed_not_streamed() -> None:
    draws = Draws(5)
    a = draws.uniform("available", "c1", "2026-04-01")
    draws.uniform("available", "c2", "2026-04-01")  # another draw in between changes nothing
    assert draws.uniform("available", "c1", "2026-04-01") == a
    assert Draws(6).uniform("available", "c1", "2026-04-01") != a


def test_baselines_pick_up_to_capacity() -> None:
    day = date(2026, 4, 6)
    rows = [
        CandidateRow(UUID(int=1), "C1", "A", "active", day - timedelta(days=14)),  # 2.0 overdue
        CandidateRow(UUID(int=2), "C2", "C", "active", day - timedelta(days=30)),  # 1.0
        CandidateRow(UUID(int=3), "C3", "D", "prospect", None),  # never visited: 3.0
        CandidateRow(UUID(int=4), "C4", "B", "active", day - timedelta(days=7)),  # 0.5
    ]
    rep = UUID(int=9)
    assert MostOverdueFirst().select(rep, day, rows, 3) == [UUID(int=3), UUID(int=1), UUID(int=2)]
    robin = RoundRobin()
    assert robin.select(rep, day, rows, 3) == [UUID(int=1), UUID(int=2), UUID(int=3)]
    assert robin.select(rep, day, rows, 3) == [UUID(int=4), UUID(int=1), UUID(int=2)]
    picked = RandomPick(seed=1).select(rep, day, rows, 2)
    assert len(set(picked)) == 2 and picked == RandomPick(seed=1).select(rep, day, rows, 2)


@pytest.mark.heavy
async def test_planners_in_worker_processes_give_the_same_numbers(tmp_path: Path) -> None:
    planners = ["ours", "most-overdue"]
    serial, _ = await simulate(SMALL, planners, workdir=tmp_path / "serial")
    seen: list[tuple[str, int, int]] = []
    parallel, _ = await simulate(
        SMALL, planners, workdir=tmp_path / "parallel", progress=lambda *u: seen.append(u), jobs=2
    )
    assert [r.numbers() for r in parallel] == [r.numbers() for r in serial]
    last = {planner: (done, total) for planner, done, total in seen}  # progress came back from both
    assert set(last) == set(planners) and all(done == total > 0 for done, total in last.values())


@pytest.mark.heavy
async def test_the_planner_keeps_a_accounts_weekly_where_most_overdue_does_not(tmp_path: Path) -> None:
    """A small guard of docs/simulation.md's result: due A's are planned like promises.

    (Attainment needs the full default world to be compared fairly; see docs/simulation.md.)
    """
    config = SimulationConfig(weeks=2, reps=4, seed=11)
    ours, overdue = (await simulate(config, ["ours", "most-overdue"], workdir=tmp_path, jobs=2))[0]
    assert ours.visits == overdue.visits  # equal capacity
    assert ours.compliance["A"] is not None and overdue.compliance["A"] is not None
    # 99.7% here (most-overdue 85.2%): the seeded visits keep each grade's cadence. A seed whose
    # visits fell on random days opened on an A backlog beyond a day's capacity (96.4%); on the
    # seed before that, without the due step and due-A-first, it was 95.0%
    assert ours.compliance["A"] >= 0.98 and ours.compliance["A"] > overdue.compliance["A"]
    assert ours.reach is not None and ours.reach >= 0.8
