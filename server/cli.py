"""The `fieldsales` command line (also `python -m server`)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from server.clock import Clock, parse_at, system_clock
from server.config import ROOT, Settings, load_settings


def _settings() -> Settings:
    return load_settings()


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


@click.group()
def main() -> None:
    """FieldSales: field sales plan execution."""


@main.command()
@click.option("--host", default=None, help="Bind address (default from HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default from PORT, 8000).")
@click.option("--no-scheduler", is_flag=True, help="Do not start the job scheduler in this process.")
@click.option("--skip-prepare", is_flag=True, help="Do not migrate or seed (another step did it).")
def run(host: str | None, port: int | None, no_scheduler: bool, skip_prepare: bool) -> None:
    """Upgrade the database, seed demo data when empty, and serve."""
    import uvicorn

    from server.app import create_app

    overrides: dict[str, Any] = {}
    if no_scheduler:
        overrides["SCHEDULER"] = False
    settings = load_settings(**overrides)
    if not skip_prepare:
        _run(_prepare(settings))
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=10,
    )


async def _prepare(settings: Settings) -> None:
    from server.db.engine import create_engine
    from server.db.migrate import upgrade
    from server.services.admin.seed import DEMO_LOGINS, DEMO_PASSWORD, database_is_empty, seed_demo

    engine = create_engine(settings)
    await upgrade(engine)
    if await database_is_empty(engine):
        click.echo("Empty database: seeding the demo organisation ...")
        await seed_demo(engine, settings)
        await engine.dispose()
    else:
        await engine.dispose()
    url = f"http://{settings.host}:{settings.port}"
    click.echo(f"\nFieldSales is running at {url}")
    click.echo(f"Demo logins (password {DEMO_PASSWORD}): " + ", ".join(DEMO_LOGINS))


@main.command()
def prepare() -> None:
    """Upgrade the database and seed the demo company when it is empty (what `run` does first)."""
    _run(_prepare(_settings()))


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@click.option("--revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (head)."""
    from server.db.engine import create_engine
    from server.db.migrate import upgrade

    async def go() -> None:
        engine = create_engine(_settings())
        await upgrade(engine, revision)
        await engine.dispose()

    _run(go())
    click.echo("database upgraded")


@main.command("seed-demo")
@click.option("--reps", default=None, type=int, help="Number of reps (demo default 12).")
@click.option("--customers", default=None, type=int, help="Number of customers.")
@click.option("--months", default=12, type=int, help="Months of order and visit history.")
@click.option("--seed", default=7, type=int, help="Random seed (output is deterministic per seed).")
@click.option("--at", default=None, help="Pretend 'now' is this ISO 8601 instant.")
@click.option(
    "--english", is_flag=True, help="Everyone reads English (default: users in China read Chinese)."
)
@click.option(
    "--bulk/--no-bulk",
    default=None,
    help="PostgreSQL generates the history itself (default from 200,000 customers on).",
)
def seed_demo_cmd(
    reps: int | None,
    customers: int | None,
    months: int,
    seed: int,
    at: str | None,
    english: bool,
    bulk: bool | None,
) -> None:
    """Create a demo company with history (bulk inserts; progress bar on large sizes)."""
    from server.db.engine import create_engine
    from server.db.migrate import upgrade
    from server.services.admin.seed import SeedOptions, database_is_empty, seed_demo

    async def go() -> dict[str, Any]:
        settings = _settings()
        engine = create_engine(settings, command_timeout=None)  # a batch: statements run for minutes
        await upgrade(engine)
        if not await database_is_empty(engine):
            await engine.dispose()
            raise click.ClickException("the database already has data; seed-demo needs an empty one")
        options = SeedOptions(
            reps=reps,
            customers=customers,
            months=months,
            seed=seed,
            chinese_in_china=not english,
            bulk=bulk,
        )
        clock = Clock(fixed=parse_at(at)) if at else system_clock
        result = await seed_demo(engine, settings, options, clock=clock, progress=True)
        await engine.dispose()
        return result

    click.echo(json.dumps(_run(go()), indent=2, default=str))


@db.command("partitions")
@click.option("--months-ahead", default=3, type=int, help="Months after this one to create now.")
def db_partitions(months_ahead: int) -> None:
    """Create the monthly partitions of the partitioned tables ahead (PostgreSQL; docs/scale.md)."""
    from datetime import date

    from server.db.engine import create_engine
    from server.db.partitions import ensure_partitions

    async def go() -> list[str]:
        engine = create_engine(_settings())
        async with engine.begin() as connection:
            created = await ensure_partitions(connection, date.today(), months_ahead)
        await engine.dispose()
        return created

    click.echo(json.dumps({"created": _run(go())}))


@main.command("init")
@click.option("--company", required=True, help="The company's name.")
@click.option("--timezone", required=True, help="The company's IANA time zone, e.g. Asia/Shanghai.")
@click.option("--admin-email", required=True)
@click.option("--admin-name", default="Administrator", show_default=True)
@click.option(
    "--password",
    default=None,
    help="The admin's password (prompted when omitted; leave it empty for a set-password link).",
)
def init_cmd(company: str, timezone: str, admin_email: str, admin_name: str, password: str | None) -> None:
    """Set up a real company on an empty database: the company, default settings, the first admin."""
    from server.db.engine import create_engine
    from server.db.migrate import upgrade
    from server.services.admin.setup import SetupService

    if password is None:
        password = click.prompt(
            "Admin password (empty: print a set-password link)",
            default="",
            hide_input=True,
            show_default=False,
        )

    async def go() -> dict[str, Any]:
        settings = _settings()
        engine = create_engine(settings)
        await upgrade(engine)
        await engine.dispose()
        async with _services() as services:
            return await services.get(SetupService).init_company(
                company=company, timezone=timezone, admin_email=admin_email, admin_name=admin_name,
                password=password or None,
            )  # fmt: skip

    result = _cli_call(go)
    click.echo(f"created company {result['company_id']} and admin {result['admin_id']}")
    if result["set_password_link"]:
        settings = _settings()
        click.echo(
            f"the admin sets a password at http://{settings.host}:{settings.port}{result['set_password_link']}"
        )


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["rep", "manager", "executive", "admin"]), required=True)
@click.option("--org-unit", "org_unit", default=None, help="Org unit name or id (default: the company).")
@click.option("--timezone", default=None, help="IANA time zone (default: the org unit's).")
@click.option("--locale", default=None, type=click.Choice(["en", "zh-CN"]))
@click.password_option()
def create_user(
    email: str,
    name: str,
    role: str,
    org_unit: str | None,
    timezone: str | None,
    locale: str | None,
    password: str,
) -> None:
    """Create a user with a password (e.g. the first admin of a company made by `init`)."""
    from server.services.admin.setup import SetupService
    from server.services.auth.users import UsersService

    async def go() -> str:
        async with _services() as services:
            unit_id = await services.get(SetupService).resolve_unit(org_unit)
            user, _link = await services.get(UsersService).create(
                None, email=email, name=name, role=role, org_unit_id=unit_id, timezone=timezone,
                locale=locale, password=password,
            )  # fmt: skip
            return str(user.id)

    click.echo(f"created user {_cli_call(go)}")


def _cli_call(make: Any) -> Any:
    """Run a coroutine; a rule it breaks becomes a clean CLI error naming the field."""
    from server.core.errors import ProblemError

    try:
        return _run(make())
    except ProblemError as problem:
        errors = (problem.extra or {}).get("errors") if isinstance(problem.extra, dict) else None
        named = "; ".join(f"{e['field']}: {e['message']}" for e in errors or []) or problem.detail
        raise click.ClickException(named) from None


@main.group()
def jobs() -> None:
    """Scheduled jobs: list them or run one now."""


@jobs.command("list")
def jobs_list() -> None:
    from server.jobs.registry import discover

    for spec in discover().values():
        trigger = f"every {spec.every_seconds}s" if spec.every_seconds else f"cron {spec.cron}"
        click.echo(f"{spec.name:24} {trigger:24} {spec.description}")


@jobs.command("run")
@click.argument("name")
@click.option("--at", default=None, help="Run as of this ISO 8601 instant (default: now).")
def jobs_run(name: str, at: str | None) -> None:
    """Run job NAME once, as of --at, claiming its slot like the scheduler does."""
    from server.db.engine import create_engine
    from server.jobs.registry import discover, run_job

    if name not in discover():
        raise click.BadParameter(f"unknown job {name!r}; see `fieldsales jobs list`", param_hint="NAME")
    when = parse_at(at) if at else system_clock.now()

    async def go() -> Any:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        settings = _settings()
        engine = create_engine(settings)
        try:
            return await run_job(name, async_sessionmaker(engine, expire_on_commit=False), settings, when)
        finally:
            await engine.dispose()

    try:
        result = _run(go())
    except RuntimeError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(json.dumps(result if result is not None else {"skipped": "slot already claimed"}, default=str))


@main.command()
@click.option("--out", default=str(ROOT / "var" / "vapid.env"), help="Where to write the keys.")
@click.option("--force", is_flag=True, help="Overwrite existing keys.")
def vapid(out: str, force: bool) -> None:
    """Generate a VAPID key pair for Web Push (kept outside the repository)."""
    from server.services.notifications.vapid import generate_vapid_env

    path = Path(out)
    if path.exists() and not force:
        click.echo(f"{path} exists; keeping it (use --force to replace)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate_vapid_env())
    path.chmod(0o600)
    click.echo(f"wrote VAPID keys to {path}")


@main.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
def export_cmd(path: str) -> None:
    """Export every table to a versioned .tar.gz archive."""
    from server.db.engine import create_engine
    from server.services.admin.backup import export_archive

    async def go() -> dict[str, Any]:
        engine = create_engine(_settings())
        try:
            return await export_archive(engine, Path(path))
        finally:
            await engine.dispose()

    manifest = _run(go())
    click.echo(f"exported {sum(manifest['tables'].values())} rows to {path}")


@main.command("import-all")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_all_cmd(path: str) -> None:
    """Restore an export into an empty database (upgraded to the archive's schema first)."""
    from server.db.engine import create_engine
    from server.db.migrate import upgrade
    from server.services.admin.backup import RestoreError, import_archive

    async def go() -> dict[str, int]:
        engine = create_engine(_settings())
        try:
            await upgrade(engine)
            return await import_archive(engine, Path(path))
        finally:
            await engine.dispose()

    try:
        restored = _run(go())
    except RestoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {sum(restored.values())} rows from {path}")


@main.command("simulate")
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


@main.group()
def forecast() -> None:
    """Forecasting tools."""


@forecast.command("backtest")
@click.option(
    "--csv",
    "csv_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Monthly series: columns period,amount.",
)
@click.option("--season", default=12, type=click.IntRange(1, 52), help="Season length in months.")
@click.option("--horizon", default=3, type=click.IntRange(1, 24), help="Months ahead to score.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def forecast_backtest(csv_path: str, season: int, horizon: int, as_json: bool) -> None:
    """Rolling-origin backtest of every candidate method on a monthly series, and the chosen one."""
    from server.services.forecasts.csv_backtest import SeriesError, format_table, read_series, run_backtest

    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            _, amounts = read_series(handle)
    except SeriesError as exc:
        raise click.BadParameter(str(exc), param_hint="--csv") from None
    report = run_backtest(amounts, season, horizon)
    click.echo(json.dumps(report, indent=2) if as_json else format_table(report))


def _services() -> Any:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from server.core.services import provide_services
    from server.db.engine import create_engine

    settings = _settings()
    engine = create_engine(settings)
    return provide_services(async_sessionmaker(engine, expire_on_commit=False), settings)


if __name__ == "__main__":
    main()
