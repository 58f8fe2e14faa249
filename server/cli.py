"""The `fieldsales` command line (also `python -m server`): serving, the database, jobs and keys
here; setting up a company, backups and the simulation in server/commands/."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from server.clock import parse_at, system_clock
from server.commands.backup import export_cmd, import_all_cmd
from server.commands.company import create_user, init_cmd, seed_demo_cmd
from server.commands.simulate import simulate_cmd
from server.config import ROOT, Settings, load_settings


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
        asyncio.run(_prepare(settings))
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

    engine = create_engine(settings, command_timeout=None)  # a migration's backfill may run for minutes
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
    asyncio.run(_prepare(load_settings()))


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
        engine = create_engine(load_settings(), command_timeout=None)  # a backfill may run for minutes
        await upgrade(engine, revision)
        await engine.dispose()

    asyncio.run(go())
    click.echo("database upgraded")


@db.command("partitions")
@click.option("--months-ahead", default=3, type=int, help="Months after this one to create now.")
def db_partitions(months_ahead: int) -> None:
    """Create the monthly partitions of the partitioned tables ahead (PostgreSQL; docs/scale.md)."""
    from datetime import date

    from server.db.engine import create_engine
    from server.db.partitions import ensure_partitions

    async def go() -> list[str]:
        engine = create_engine(load_settings())
        async with engine.begin() as connection:
            created = await ensure_partitions(connection, date.today(), months_ahead)
        await engine.dispose()
        return created

    click.echo(json.dumps({"created": asyncio.run(go())}))


@db.command("rebuild-actuals")
def db_rebuild_actuals() -> None:
    """Recompute the per rep and day actuals rollup (rep_day_actuals) from orders and check-ins."""
    from server.db.actuals_rollup import rebuild
    from server.db.engine import create_engine

    async def go() -> int:
        engine = create_engine(load_settings(), command_timeout=None)  # minutes at 10,000 reps
        try:
            async with engine.begin() as connection:
                return await rebuild(connection)
        finally:
            await engine.dispose()

    click.echo(json.dumps({"rep_day_actuals": asyncio.run(go())}))


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

        settings = load_settings()
        engine = create_engine(settings)
        try:
            return await run_job(name, async_sessionmaker(engine, expire_on_commit=False), settings, when)
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(go())
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


main.add_command(seed_demo_cmd)
main.add_command(init_cmd)
main.add_command(create_user)
main.add_command(export_cmd)
main.add_command(import_all_cmd)
main.add_command(simulate_cmd)

if __name__ == "__main__":
    main()
