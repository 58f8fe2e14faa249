"""One "app process" playing the scheduler over a list of instants (the exactly-once test).

    python -m tests.resilience.jobs_worker --label A --start ISO --end ISO --step-minutes 60 \
        --jobs plan-day,remind-overdue,escalate,digest --barrier DIR --out result.json

Two of these run at once against one database. Each waits for DIR/go (so both start together),
then for every instant calls `run_job` for every job, as APScheduler's tick would. With
`--overlap`, the slot claim is made per process (`force_slot=slot/LABEL`), so both processes really
run every sweep at the same moment: what happens when the claim does not help (clock skew across a
slot boundary, a slow run overlapping the next tick) and only per-entity idempotency is left.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from server.clock import parse_at
from server.config import load_settings
from server.db.engine import create_engine
from server.jobs.registry import discover, run_job, slot_for


def instants(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, at = [], start
    while at < end:
        out.append(at)
        at += step
    return out


async def play(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings(DB_POOL_SIZE=2)
    engine = create_engine(settings)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    specs = discover()
    names = args.jobs.split(",")
    ats = instants(parse_at(args.start), parse_at(args.end), timedelta(minutes=args.step_minutes))
    barrier = Path(args.barrier)
    (barrier / f"ready-{args.label}").touch()
    waited = time.monotonic()
    while not (barrier / "go").exists():  # bounded: the test writes `go` once both are ready
        if time.monotonic() - waited > 120:
            raise SystemExit("no go signal within 120 s")
        await asyncio.sleep(0.02)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    try:
        for at in ats:
            for name in names:
                force = f"{slot_for(specs[name], at)}/{args.label}" if args.overlap else None
                try:
                    result = await run_job(name, sessionmaker, settings, at, force_slot=force)
                except Exception as exc:  # recorded in job_runs too; keep playing the week
                    counts[f"{name}:failed"] += 1
                    failures.append(f"{name} @ {at.isoformat()}: {str(exc)[-600:]}")
                    continue
                counts[f"{name}:{'ran' if result is not None else 'skipped'}"] += 1
    finally:
        await engine.dispose()
    return {
        "label": args.label,
        "instants": len(ats),
        "counts": dict(counts),
        "failures": failures,
        "seconds": round(time.monotonic() - started, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--end", required=True)
    parser.add_argument("--step-minutes", type=int, default=60)
    parser.add_argument("--jobs", required=True)
    parser.add_argument("--barrier", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--overlap", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(play(args))
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
