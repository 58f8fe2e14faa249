"""`fieldsales simulate`: play a quarter with simulated reps and compare daily planners."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from server.config import ROOT


@click.command("simulate")
@click.option("--weeks", default=13, show_default=True, type=click.IntRange(1, 52), help="Weeks to simulate.")
@click.option(
    "--reps", default=50, show_default=True, type=click.IntRange(1, 2000), help="Reps in the seeded world."
)
@click.option("--seed", default=7, show_default=True, type=int, help="Seed of the world and of its luck.")
@click.option(
    "--planner",
    default="ours",
    show_default=True,
    type=click.Choice(["ours", "most-overdue", "round-robin", "random", "all"]),
    help="Who makes the daily list; `all` runs each on the same world for a side-by-side table.",
)
@click.option(
    "--start", default=None, help="First simulated day, YYYY-MM-DD (default 2026-04-01: 13 weeks = Q2)."
)
@click.option(
    "--out",
    default=None,
    help="SVG chart path (default var/simulation/<seed>.svg); numbers go next to it as .json.",
)
@click.option("--keep-db", default=None, help="Keep each planner's SQLite file in this directory.")
@click.option(
    "--threaded-driver", is_flag=True, help="aiosqlite with its worker thread, as the app runs (slower)."
)
@click.option(
    "--jobs",
    default=None,
    type=click.IntRange(1, 64),
    help="Planners run at once, each in its own process (default: the CPU count).",
)
def simulate_cmd(
    weeks: int,
    reps: int,
    seed: int,
    planner: str,
    start: str | None,
    out: str | None,
    keep_db: str | None,
    threaded_driver: bool,
    jobs: int | None,
) -> None:
    """Play a quarter with simulated reps and compare daily planners (docs/simulation.md)."""
    import logging
    from datetime import date

    from rich.console import Console

    from server.core.logging import configure_logging
    from server.simulation.run import run_command
    from server.simulation.template import DEFAULT_START, PLANNERS, SimulationConfig

    configure_logging(level=logging.WARNING)  # the services log every visit at INFO
    try:
        first_day = date.fromisoformat(start) if start else DEFAULT_START
    except ValueError as exc:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--start") from exc
    config = SimulationConfig(
        weeks=weeks, reps=reps, seed=seed, start=first_day, inline_driver=not threaded_driver
    )
    chart = Path(out) if out else ROOT / "var" / "simulation" / f"{seed}.svg"
    console = Console() if sys.stdout.isatty() else Console(width=150)
    planners = list(PLANNERS) if planner == "all" else [planner]
    workers = jobs or os.cpu_count() or 1
    run_command(config, planners, chart, Path(keep_db) if keep_db else None, console, workers)
