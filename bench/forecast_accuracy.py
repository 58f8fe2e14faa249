"""Backtest table for docs/forecasting.md: every candidate per org level and horizon.

    DATABASE_URL=sqlite+aiosqlite:////tmp/demo.db python -m bench.forecast_accuracy --as-of 2026-11-18
    python -m bench.forecast_accuracy --simulated        # a world with a known generating process

Prints a Markdown table: per level and horizon the chosen method's WAPE, bias, MASE and 80%
interval coverage, next to seasonal naive's WAPE and MASE.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
from datetime import date

from server.services.forecasts import engine


def simulated(
    reps_per_team: int = 6, teams: int = 4, months: int = 48, seed: int = 7
) -> dict[str, dict[str, list[float]]]:
    """Reps: level x (1 + 0.25 sin(month + team phase)) + trend + noise (sd 10% of level); teams,
    two regions and the company are the sums."""
    rng = random.Random(seed)
    reps: dict[str, list[float]] = {}
    team_of: dict[str, int] = {}
    for team in range(teams):
        phase = rng.uniform(0, 0.6)
        for r in range(reps_per_team):
            level = rng.uniform(20_000, 60_000)
            key = f"t{team}r{r}"
            team_of[key] = team
            reps[key] = [
                max(
                    0.0,
                    level * (1 + 0.25 * math.sin(2 * math.pi * t / 12 + phase))
                    + 60 * t
                    + rng.gauss(0, 0.1 * level),
                )
                for t in range(months)
            ]

    def total(keys: list[str]) -> list[float]:
        return [sum(reps[k][t] for k in keys) for t in range(months)]

    team_series = {f"team{t}": total([k for k in reps if team_of[k] == t]) for t in range(teams)}
    region_series = {f"region{g}": total([k for k in reps if team_of[k] % 2 == g]) for g in range(2)}
    return {
        "rep": reps,
        "team": team_series,
        "region": region_series,
        "company": {"company": total(list(reps))},
    }


async def from_database(as_of: date) -> dict[str, dict[str, list[float]]]:
    from server.config import Settings
    from server.core.org import OrgTree
    from server.db.engine import create_engine
    from server.services.forecasts.history import load_history

    settings = Settings()
    db = create_engine(settings)
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(db) as session:
        tree = await OrgTree.load(session)
        company = tree.companies()[0]
        history = await load_history(session, tree, company, as_of)
    await db.dispose()
    levels: dict[str, dict[str, list[float]]] = {"rep": {str(r): history.series(r) for r in history.reps}}
    for unit, reps in history.leaves_of.items():
        rows = [history.series(r) for r in reps]
        levels.setdefault(tree.units[unit].kind, {})[str(unit)] = [sum(v) for v in zip(*rows, strict=True)]
    return levels


def table(levels: dict[str, dict[str, list[float]]], horizon: int, windows: int) -> str:
    out = [
        "| level | series | h | chosen | WAPE | bias | MASE | 80% coverage | seasonal naive WAPE | seasonal naive MASE | n |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for level in ("rep", "team", "region", "company"):
        if level not in levels:
            continue
        result = engine.backtest(levels[level], horizon=horizon, windows=windows)
        for chosen, naive in zip(result.scores[result.chosen], result.scores["SeasonalNaive"], strict=True):
            out.append(
                f"| {level} | {len(levels[level])} | {chosen.horizon} | {result.chosen} | {_pct(chosen.wape)} | "
                f"{_pct(chosen.bias)} | {_num(chosen.mase)} | {_pct(chosen.coverage)} | {_pct(naive.wape)} | "
                f"{_num(naive.mase)} | {chosen.n} |"
            )
    return "\n".join(out)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--as-of", type=date.fromisoformat)
    parser.add_argument("--simulated", action="store_true")
    parser.add_argument("--horizon", type=int, default=3)
    parser.add_argument("--windows", type=int, default=12)
    args = parser.parse_args()
    levels = simulated() if args.simulated else asyncio.run(from_database(args.as_of or date.today()))
    print(table(levels, args.horizon, args.windows))


if __name__ == "__main__":
    main()
