"""`fieldsales seed-demo`, `init` and `create-user`: a company to work in, a demo one or a real
one, and its users."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from server.clock import Clock, parse_at, system_clock
from server.config import load_settings


@click.command("seed-demo")
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
        settings = load_settings()
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

    click.echo(json.dumps(asyncio.run(go()), indent=2, default=str))


@click.command("init")
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
        settings = load_settings()
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
        settings = load_settings()
        click.echo(
            f"the admin sets a password at http://{settings.host}:{settings.port}{result['set_password_link']}"
        )


@click.command("create-user")
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
        return asyncio.run(make())
    except ProblemError as problem:
        errors = (problem.extra or {}).get("errors") if isinstance(problem.extra, dict) else None
        named = "; ".join(f"{e['field']}: {e['message']}" for e in errors or []) or problem.detail
        raise click.ClickException(named) from None


def _services() -> Any:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from server.core.services import provide_services
    from server.db.engine import create_engine

    settings = load_settings()
    engine = create_engine(settings)
    return provide_services(async_sessionmaker(engine, expire_on_commit=False), settings)
