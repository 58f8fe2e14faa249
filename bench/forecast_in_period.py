"""Team-month WAPE of the in-period forecast by working day, against the straight-line projection
(actual / elapsed working days x working days), on a seeded database:

    DATABASE_URL=sqlite+aiosqlite:////tmp/demo.db python -m bench.forecast_in_period --as-of 2026-11-18

For each of the last 12 complete months and each team: the model (AutoETS, refit on the months
before) gives the month forecast; on working day k the forecast is actual to date + that forecast x
the share of working days left (server.domain.forecast.compose_in_period), scored against the
month's final actual.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.core.org import OrgTree
from server.db.engine import create_engine
from server.db.models import Order, User
from server.domain.calendar import is_working_day, month_end, working_days
from server.domain.forecast import compose_in_period, wape
from server.services.forecasts import engine
from server.services.forecasts.history import load_history

DAYS = (3, 5, 10, 15)


async def measure(as_of: date, method: str) -> str:
    db = create_engine(Settings())
    async with AsyncSession(db) as session:
        tree = await OrgTree.load(session)
        company = tree.companies()[0]
        history = await load_history(session, tree, company, as_of)
        daily_rows = await session.execute(
            select(User.org_unit_id, Order.ordered_on, func.sum(Order.amount))
            .join(User, User.id == Order.rep_id)
            .where(Order.ordered_on < as_of)
            .group_by(User.org_unit_id, Order.ordered_on)
        )
        daily: dict[tuple[object, date], Decimal] = defaultdict(Decimal)
        for unit, day, amount in daily_rows:
            daily[(unit, day)] += Decimal(amount)
    await db.dispose()
    teams = [u for u in history.leaves_of if tree.units[u].kind == "team"]
    months = history.months[-12:]
    model: dict[int, list[float]] = defaultdict(list)
    line: dict[int, list[float]] = defaultdict(list)
    finals: dict[int, list[float]] = defaultdict(list)
    for target in months:
        cut = history.months.index(target)
        series = {
            str(t): [sum(v) for v in zip(*(history.series(r) for r in history.leaves_of[t]), strict=True)][
                :cut
            ]
            for t in teams
        }
        month_fc = engine.predict(series, method, horizon=1)
        start = date.fromisoformat(target + "-01")
        end = month_end(start)
        total = working_days(start, end)
        workdays = [
            start + timedelta(days=i)
            for i in range((end - start).days + 1)
            if is_working_day(start + timedelta(days=i))
        ]
        for t in teams:
            final = sum((daily[(u, d)] for u in tree.subtree(t) for d in _days(start, end)), Decimal(0))
            for k in DAYS:
                through = workdays[k - 1]
                to_date = sum(
                    (daily[(u, d)] for u in tree.subtree(t) for d in _days(start, through)), Decimal(0)
                )
                left = total - k
                point, _, _ = compose_in_period(to_date, month_fc[str(t)][0], total, left)
                model[k].append(float(point))
                line[k].append(float(to_date) / k * total)
                finals[k].append(float(final))
    out = [
        "| working day | in-period forecast WAPE | straight-line WAPE | team-months |",
        "|---|---|---|---|",
    ]
    for k in DAYS:
        out.append(
            f"| {k} | {100 * (wape(finals[k], model[k]) or 0):.1f}% | {100 * (wape(finals[k], line[k]) or 0):.1f}% | {len(finals[k])} |"
        )
    return "\n".join(out)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--method", default="AutoETS")
    args = parser.parse_args()
    print(asyncio.run(measure(args.as_of, args.method)))


if __name__ == "__main__":
    main()
