"""Play a quarter: build the seeded world once, then replay it with each planner on its own copy.

Every planner run gets its own SQLite file, copied from one template (migrated, seeded with
seed_demo and graded once), so every planner starts from the same world; outcome randomness is
keyed (world.Draws), so it is the same luck for every planner.

The simulated days are a timeline of events in UTC order, in each rep's own time zone:
  06:05 local  morning: the plan-day job (product) or a baseline's selection (working days)
  08:30 local  each rep present works the list in route order until 16:30 (working days)
  17:30 local  orders that arrived without a visit (every day)
  23:30 local  measure compliance (working days)
  20:00 company time  the escalate sweep (every day)
  18:30 UTC    grade-customers (its cron slot; every day)
"""

from __future__ import annotations

import gc
import random
import shutil
import tempfile
import time as timer
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import Customer
from server.domain.calendar import is_working_day
from server.jobs.registry import run_job
from server.simulation.agents import (
    Rep,
    plan_with_baseline,
    plan_with_product,
    record_unvisited_orders,
    work_day,
)
from server.simulation.baselines import make_baseline
from server.simulation.database import create_sqlite_engine, sqlite_settings
from server.simulation.report import PlannerReport, Tracker, finish
from server.simulation.template import PLANNERS, PRODUCT, SimulationConfig, Template, build_template
from server.simulation.world import (
    World,
)

# Event kinds in the order they run when they fall on the same instant.
_RANK = {"plan": 0, "work": 1, "orders": 2, "measure": 3, "escalate": 4, "grade": 5}


@dataclass(order=True)
class Event:
    at: datetime
    rank: int
    key: str
    kind: str = field(compare=False)
    day: date = field(compare=False)
    tz: str | None = field(default=None, compare=False)
    rep: Rep | None = field(default=None, compare=False)


def timeline(config: SimulationConfig, template: Template, planner: str, world: World) -> list[Event]:
    """Every event of the window, in the order they happen."""
    events: list[Event] = []
    zones = sorted({rep.timezone for rep in template.reps})
    company = ZoneInfo(template.company_tz)
    every_morning = planner == PRODUCT  # the job runs daily as scheduled; it skips days off itself
    for day in _days(config.start, config.end):
        working = is_working_day(day)
        for tz in zones:
            local = ZoneInfo(tz)
            midnight = datetime.combine(day, datetime.min.time(), local)

            def at(hours: float, midnight: datetime = midnight) -> datetime:
                return (midnight + timedelta(hours=hours)).astimezone(UTC)

            # The product's job runs every morning, as its scheduler does; a baseline rep only
            # makes a list on working days.
            if every_morning or working:
                events.append(Event(at(6 + 5 / 60), _RANK["plan"], tz, "plan", day, tz=tz))
            if working:
                for rep in template.reps:
                    if rep.timezone == tz and not world.absent(rep.id, day):
                        events.append(Event(at(8.5), _RANK["work"], str(rep.id), "work", day, rep=rep))
                events.append(Event(at(23.5), _RANK["measure"], tz, "measure", day, tz=tz))
            events.append(Event(at(17.5), _RANK["orders"], tz, "orders", day, tz=tz))
        evening = datetime.combine(day, datetime.min.time(), company) + timedelta(hours=20)
        events.append(Event(evening.astimezone(UTC), _RANK["escalate"], "", "escalate", day))
        nightly = datetime(day.year, day.month, day.day, 18, 30, tzinfo=UTC)  # the job's cron slot
        events.append(Event(nightly, _RANK["grade"], "", "grade", day))
    measured = [e.at for e in events if e.kind == "measure"]
    last = max(measured) if measured else None
    return sorted(e for e in events if last is None or e.at <= last)


@dataclass
class PlannerRun:
    """One planner's replay of the window on its own database."""

    config: SimulationConfig
    template: Template
    planner: str
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings

    def __post_init__(self) -> None:
        config, template = self.config, self.template
        self.world = World(template.truths, template.states, config.seed, config.params)
        self.tracker = Tracker(template.intervals, dict(template.last_visit))
        self.baseline = (
            None if self.planner == PRODUCT else make_baseline(self.planner, config.seed, template.intervals)
        )
        self.ids = random.Random(f"{config.seed}:ids")  # check-in ids: the phone's UUIDs
        self.reps_by_tz: dict[str, list[Rep]] = defaultdict(list)
        for rep in template.reps:
            self.reps_by_tz[rep.timezone].append(rep)
        rep_of = {rep.id: rep for rep in template.reps}
        self.owners = {truth.id: rep_of[truth.rep_id] for truth in template.truths}
        self.customers_by_tz: dict[str, list[UUID]] = defaultdict(list)
        for truth in template.truths:
            self.customers_by_tz[rep_of[truth.rep_id].timezone].append(truth.id)
        self.tracker.rep_days_absent = sum(
            self.world.absent(rep.id, day)
            for day in _days(config.start, config.end)
            if is_working_day(day)
            for rep in template.reps
        )

    async def play(self, event: Event) -> None:
        sessionmaker, settings = self.sessionmaker, self.settings
        if event.kind == "plan":
            assert event.tz is not None
            reps = self.reps_by_tz[event.tz]
            if self.baseline is not None:
                await plan_with_baseline(sessionmaker, settings, self.baseline, reps, event.day, event.at)
            else:
                await plan_with_product(sessionmaker, settings, event.at)
        elif event.kind == "work":
            assert event.rep is not None
            log = await work_day(sessionmaker, settings, self.world, event.rep, event.day, self.ids)
            self.tracker.record_day(event.day, log)
        elif event.kind == "orders":
            assert event.tz is not None
            placed = self.world.unvisited_orders(self.customers_by_tz[event.tz], event.day)
            self.tracker.orders_unvisited += len(placed)
            await record_unvisited_orders(sessionmaker, settings, placed, self.owners, event.day, event.at)
        elif event.kind == "measure":
            assert event.tz is not None
            await self._measure([rep.id for rep in self.reps_by_tz[event.tz]], event.day)
        elif event.kind in ("escalate", "grade"):
            await run_job(
                "escalate" if event.kind == "escalate" else "grade-customers",
                sessionmaker,
                settings,
                event.at,
            )

    async def _measure(self, rep_ids: list[UUID], day: date) -> None:
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(Customer.id, Customer.grade, Customer.status)
                .where(Customer.owner_rep_id.in_(rep_ids), Customer.status.in_(("active", "prospect")))
                .order_by(Customer.id)
            )
            self.tracker.measure(day, [(cid, grade, status) for cid, grade, status in rows])


async def run_planner(
    config: SimulationConfig,
    template: Template,
    planner: str,
    workdir: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> PlannerReport:
    """Replay the window with one planner on a fresh copy of the template."""
    started, cpu = timer.perf_counter(), timer.process_time()
    path = workdir / f"{planner}.db"
    shutil.copyfile(template.path, path)
    settings = sqlite_settings(path)
    engine = create_sqlite_engine(settings, config.inline_driver)
    run = PlannerRun(config, template, planner, async_sessionmaker(engine, expire_on_commit=False), settings)
    events = timeline(config, template, planner, run.world)
    # The world, the timeline and the imported modules live for the whole run: keep them out of
    # the cyclic collector's full passes (each took ~0.1 s over a heap this size).
    gc.collect()
    gc.freeze()
    spent: dict[str, float] = defaultdict(float)
    try:
        for done, event in enumerate(events, start=1):
            began = timer.perf_counter()
            await run.play(event)
            spent[event.kind] += timer.perf_counter() - began
            if progress and (done % 50 == 0 or done == len(events)):
                progress(planner, done, len(events))
        async with run.sessionmaker() as session:
            report = await finish(
                session,
                run.tracker,
                planner,
                config.seed,
                config.weeks,
                [rep.id for rep in template.reps],
                config.start,
                config.end,
                window_from=min(e.at for e in events),
            )
    finally:
        gc.unfreeze()
        await engine.dispose()
    report.wall_s = round(timer.perf_counter() - started, 1)
    report.cpu_s = round(timer.process_time() - cpu, 1)
    report.timings = {kind: round(seconds, 1) for kind, seconds in sorted(spent.items())}
    return report


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


async def simulate(
    config: SimulationConfig,
    planners: Sequence[str],
    workdir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    jobs: int = 1,
) -> tuple[list[PlannerReport], float]:
    """Run each planner on the same world; returns the reports and the template build time.

    With jobs > 1 the planners run in that many worker processes at once: every planner has
    its own database file and keyed luck, so the numbers are the same as one after another.
    """
    for name in planners:
        if name not in PLANNERS:
            raise ValueError(f"unknown planner {name!r}; choose from {', '.join(PLANNERS)}")
    own_dir = workdir is None
    directory = Path(tempfile.mkdtemp(prefix="fieldsales-sim-")) if own_dir else workdir
    assert directory is not None
    directory.mkdir(parents=True, exist_ok=True)
    try:
        template = await build_template(config, directory)
        if jobs > 1 and len(planners) > 1:
            reports = await _in_processes(config, template, planners, directory, progress, jobs)
        else:
            reports = [await run_planner(config, template, name, directory, progress) for name in planners]
    finally:
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)
    return reports, template.build_s


async def _in_processes(
    config: SimulationConfig,
    template: Template,
    planners: Sequence[str],
    directory: Path,
    progress: Callable[[str, int, int], None] | None,
    jobs: int,
) -> list[PlannerReport]:
    """One planner per worker process (spawned: a fresh interpreter, no inherited event loop)."""
    import asyncio
    import multiprocessing
    import queue
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(min(jobs, len(planners)), context) as pool:
        updates = manager.Queue()
        loop = asyncio.get_running_loop()
        runs = [
            loop.run_in_executor(pool, _planner_process, config, template, name, directory, updates)
            for name in planners
        ]
        pending = asyncio.gather(*runs)
        while not pending.done():
            await asyncio.wait([pending], timeout=0.5)
            while progress is not None:
                try:
                    progress(*updates.get_nowait())
                except queue.Empty:
                    break
        return list(await pending)


def _planner_process(
    config: SimulationConfig, template: Template, planner: str, directory: Path, updates: Any
) -> PlannerReport:
    import asyncio
    import logging

    from server.core.logging import configure_logging

    configure_logging(level=logging.WARNING)
    return asyncio.run(run_planner(config, template, planner, directory, lambda *update: updates.put(update)))


def run_command(
    config: SimulationConfig,
    planners: Sequence[str],
    out: Path,
    keep_db: Path | None = None,
    console: Any = None,
    jobs: int = 1,
) -> list[PlannerReport]:
    """`fieldsales simulate`: run, print the table, write the SVG chart and the numbers as JSON."""
    import asyncio
    import json

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from server.simulation.chart import write_svg
    from server.simulation.report import table

    console = console or Console()
    with Progress(
        TextColumn("{task.description:>14}"), BarColumn(), TextColumn("{task.completed}/{task.total} events"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as bar:  # fmt: skip
        tasks: dict[str, Any] = {}

        def progress(planner: str, done: int, total: int) -> None:
            if planner not in tasks:
                tasks[planner] = bar.add_task(planner, total=total)
            bar.update(tasks[planner], completed=done)

        reports, build_s = asyncio.run(simulate(config, planners, keep_db, progress, jobs))
    console.print(table(reports))
    console.print(
        "wall (CPU) time per planner: "
        + ", ".join(f"{r.planner} {r.wall_s:.0f} s ({r.cpu_s:.0f} s)" for r in reports)
        + f" (plus {build_s:.0f} s to migrate, seed and grade the starting world once)"
    )
    write_svg(reports, out)
    numbers = {
        "config": {
            "weeks": config.weeks,
            "reps": config.reps,
            "seed": config.seed,
            "start": config.start.isoformat(),
            "inline_driver": config.inline_driver,
        },
        "template_build_s": round(build_s, 1),
        "reports": [
            {**r.numbers(), "wall_s": r.wall_s, "cpu_s": r.cpu_s, "timings": r.timings} for r in reports
        ],
    }
    out.with_suffix(".json").write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    console.print(f"chart: {out}  numbers: {out.with_suffix('.json')}")
    return reports
