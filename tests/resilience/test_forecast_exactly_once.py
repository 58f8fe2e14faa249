"""Exactly once for the forecast job: two OS processes play the same week of hourly-slot ticks
against one PostgreSQL database (tests/resilience/jobs_worker.py, as test_jobs_exactly_once.py
does for the other jobs). Each company-local day gets one refit (Monday) or one nightly update,
never two, and no forecast row is duplicated — both when the job_runs claim decides (`claim`) and
when both processes run every sweep at once (`overlap`: the forecast_runs ON CONFLICT decides)."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.resilience.support import PY, SEED_AT, app_env, fetch

pytestmark = pytest.mark.resilience

START = SEED_AT + timedelta(minutes=7)
END = START + timedelta(days=7)
STEP_MINUTES = 180


def _ticks() -> list[datetime]:
    out, at = [], START
    while at < END:
        out.append(at)
        at += timedelta(minutes=STEP_MINUTES)
    return out


def _play(url: str, workdir: Path, overlap: bool) -> list[dict[str, Any]]:
    barrier = workdir / "barrier"
    barrier.mkdir(parents=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for label in ("A", "B"):
            command = [
                PY, "-m", "tests.resilience.jobs_worker", "--label", label,
                "--start", START.isoformat(), "--end", END.isoformat(),
                "--step-minutes", str(STEP_MINUTES), "--jobs", "forecast",
                "--barrier", str(barrier), "--out", str(workdir / f"{label}.json"),
            ]  # fmt: skip
            if overlap:
                command.append("--overlap")
            with (workdir / f"worker-{label}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        command, cwd=workdir, env=app_env(url, 0), stdout=log, stderr=subprocess.STDOUT
                    )
                )
        deadline = time.monotonic() + 90
        while not all((barrier / f"ready-{label}").exists() for label in "AB"):
            assert all(p.poll() is None for p in processes), _logs(workdir)
            assert time.monotonic() < deadline, "workers not ready in 90 s\n" + _logs(workdir)
            time.sleep(0.05)
        (barrier / "go").touch()
        for process in processes:
            process.wait(timeout=300)
        assert all(p.returncode == 0 for p in processes), _logs(workdir)
    finally:
        for process in processes:  # only ours, by pid
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    return [json.loads((workdir / f"{label}.json").read_text()) for label in "AB"]


def _logs(workdir: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-30:])
        for p in sorted(workdir.glob("worker-*.log"))
    )


def _expected(timezone: str) -> set[tuple[str, date]]:
    """What the job should have produced from these ticks (refit on Monday from 03:00, an update
    on other days from 02:00)."""
    out: set[tuple[str, date]] = set()
    for at in _ticks():
        local = at.astimezone(ZoneInfo(timezone))
        if local.hour < 2:
            continue
        if local.weekday() == 0:
            if local.hour >= 3:
                out.add(("refit", local.date()))
        elif not any(d == local.date() for _, d in out):
            out.add(("update", local.date()))
    return out


def _check(url: str) -> int:
    for sql in (
        "SELECT company_id, kind, as_of FROM forecast_runs GROUP BY company_id, kind, as_of HAVING count(*) > 1",
        "SELECT run_id, scope, scope_id, period FROM forecasts GROUP BY run_id, scope, scope_id, period "
        "HAVING count(*) > 1",
        "SELECT company_id, as_of FROM forecast_runs GROUP BY company_id, as_of HAVING count(*) > 1",
    ):
        assert fetch(url, sql) == [], sql
    companies = fetch(url, "SELECT id, timezone FROM org_units WHERE parent_id IS NULL")
    for company in companies:
        runs = {
            (r["kind"], r["as_of"])
            for r in fetch(url, "SELECT kind, as_of FROM forecast_runs WHERE company_id = $1", company["id"])
        }
        assert runs == _expected(company["timezone"]), sorted(runs)
    return int(fetch(url, "SELECT count(*) FROM forecasts")[0][0])


def test_two_processes_forecast_each_day_once(pg_db: str, tmp_path: Path) -> None:
    results = _play(pg_db, tmp_path, overlap=False)
    assert all(r["failures"] == [] for r in results), [r["failures"] for r in results]
    ran = sum(r["counts"].get("forecast:ran", 0) for r in results)
    assert ran == len(_ticks())  # every slot ran once, in one process or the other
    assert _check(pg_db) > 0


def test_two_processes_running_every_forecast_sweep_at_once(pg_db: str, tmp_path: Path) -> None:
    results = _play(pg_db, tmp_path, overlap=True)
    assert all(r["failures"] == [] for r in results), [r["failures"][:2] for r in results]
    assert _check(pg_db) > 0
