"""Backtest of the composed in-period forecast (actual to date + the model's expected rest) at
day-of-month checkpoints, team level, against the straight-line projection (actual / elapsed
working days x working days):

    DATABASE_URL=sqlite+aiosqlite:////tmp/fc_demo.db python -m bench.forecast_in_period --as-of 2026-11-18
    python -m bench.forecast_in_period --simulated      # a world with a known generating process

For each of the last 12 complete months and each team: the model (refit on the months before)
gives the month band; after the k-th working day the forecast is actual to date + that band x the
share of working days left (server.domain.forecast.compose_in_period, as the job does), scored
against the month's final actual: WAPE, bias and how often the final landed in the 80% interval.
Checkpoints: the 3rd, 10th, middle (half the month's working days, rounded up) and 20th working day.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.core.org import OrgTree
from server.db.engine import create_engine
from server.db.models import Order, User
from server.domain.calendar import is_working_day, month_end
from server.domain.forecast import add_months, bias, compose_in_period, wape
from server.services.forecasts import engine
from server.services.forecasts.history import load_history

CHECKPOINTS = ("3", "10", "middle", "20")
Daily = dict[str, dict[date, float]]  # team -> day -> amount


def workdays_of(month: str) -> list[date]:
    start = date.fromisoformat(month + "-01")
    end = month_end(start)
    return [
        start + timedelta(days=i)
        for i in range((end - start).days + 1)
        if is_working_day(start + timedelta(days=i))
    ]


def checkpoint_day(name: str, total: int) -> int:
    return math.ceil(total / 2) if name == "middle" else min(int(name), total)


def score(daily: Daily, months: list[str], scored: int, method: str) -> str:
    """The table over the last `scored` months of `months` (all complete, oldest first)."""
    teams = sorted(daily)
    monthly = {
        t: [sum(v for d, v in daily[t].items() if d.strftime("%Y-%m") == m) for m in months] for t in teams
    }
    finals: dict[str, list[float]] = defaultdict(list)
    model: dict[str, list[float]] = defaultdict(list)
    line: dict[str, list[float]] = defaultdict(list)
    inside: dict[str, int] = defaultdict(int)
    ahead_fc: list[float] = []
    ahead_actual: list[float] = []
    for cut in range(len(months) - scored, len(months)):
        month = months[cut]
        bands = engine.predict({t: monthly[t][:cut] for t in teams}, method, horizon=1)
        days = workdays_of(month)
        for t in teams:
            final = monthly[t][cut]
            ahead_fc.append(bands[t][0].point)
            ahead_actual.append(final)
            for name in CHECKPOINTS:
                k = checkpoint_day(name, len(days))
                through = days[k - 1]  # orders of every day up to it, weekends included
                to_date = Decimal(
                    repr(sum(v for d, v in daily[t].items() if d.strftime("%Y-%m") == month and d <= through))
                )
                point, low, high = compose_in_period(to_date, bands[t][0], len(days), len(days) - k)
                finals[name].append(final)
                model[name].append(float(point))
                line[name].append(float(to_date) / k * len(days))
                inside[name] += float(low) <= final <= float(high)
    rows = [
        "| checkpoint (working day) | in-period WAPE | bias | 80% coverage | straight-line WAPE | team-months |",
        "|---|---|---|---|---|---|",
        f"| 0 (month-ahead model) | {_pct(wape(ahead_actual, ahead_fc))} | {_pct(bias(ahead_actual, ahead_fc))} | – | – | {len(ahead_actual)} |",
    ]
    for name in CHECKPOINTS:
        n = len(finals[name])
        rows.append(
            f"| {name} | {_pct(wape(finals[name], model[name]))} | {_pct(bias(finals[name], model[name]))} | "
            f"{100 * inside[name] / n:.0f}% | {_pct(wape(finals[name], line[name]))} | {n} |"
        )
    return "\n".join(rows)


async def from_database(as_of: date) -> tuple[Daily, list[str]]:
    db = create_engine(Settings())
    async with AsyncSession(db) as session:
        tree = await OrgTree.load(session)
        history = await load_history(session, tree, tree.companies()[0], as_of)
        rows = await session.execute(
            select(User.org_unit_id, Order.ordered_on, func.sum(Order.amount))
            .join(User, User.id == Order.rep_id)
            .where(Order.ordered_on < as_of)
            .group_by(User.org_unit_id, Order.ordered_on)
        )
        by_unit: dict[object, dict[date, float]] = defaultdict(dict)
        for unit, day, amount in rows:
            by_unit[unit][day] = by_unit[unit].get(day, 0.0) + float(amount)
    await db.dispose()
    daily: Daily = {}
    for unit, info in tree.units.items():
        if info.kind == "team":
            merged: dict[date, float] = defaultdict(float)
            for below in tree.subtree(unit):
                for day, amount in by_unit.get(below, {}).items():
                    merged[day] += amount
            daily[str(unit)] = dict(merged)
    return daily, history.months


def simulated(
    teams: int = 4, reps_per_team: int = 6, months: int = 48, seed: int = 7
) -> tuple[Daily, list[str]]:
    """The monthly process of bench.forecast_accuracy (level x seasonal + trend + noise), each
    rep's month spread over its working days with gamma(2)-distributed day weights."""
    rng = random.Random(seed)
    keys = [add_months("2023-01", t) for t in range(months)]
    daily: Daily = {}
    for team in range(teams):
        phase = rng.uniform(0, 0.6)
        team_days: dict[date, float] = defaultdict(float)
        for _rep in range(reps_per_team):
            level = rng.uniform(20_000, 60_000)
            for t, month in enumerate(keys):
                amount = max(
                    0.0,
                    level * (1 + 0.25 * math.sin(2 * math.pi * t / 12 + phase))
                    + 60 * t
                    + rng.gauss(0, 0.1 * level),
                )
                days = workdays_of(month)
                weights = [rng.gammavariate(2, 1) for _ in days]
                for day, weight in zip(days, weights, strict=True):
                    team_days[day] += amount * weight / sum(weights)
        daily[f"team{team}"] = dict(team_days)
    return daily, keys


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--as-of", type=date.fromisoformat)
    parser.add_argument("--simulated", action="store_true")
    parser.add_argument("--method", default="AutoETS")
    parser.add_argument("--months", type=int, default=12, help="months scored (rolling origins)")
    args = parser.parse_args()
    daily, months = simulated() if args.simulated else asyncio.run(from_database(args.as_of or date.today()))
    print(score(daily, months, min(args.months, len(months) - 3), args.method))


if __name__ == "__main__":
    main()
