"""Exactly once: two OS processes play the same simulated week of scheduler ticks against one
PostgreSQL database; every daily plan, digest, reminder and open escalation exists once.

Each process (tests/resilience/jobs_worker.py) loops over the same instants (every 2 hours for 7 days)
and calls `run_job` for plan-day, remind-overdue, escalate, digest and grade-customers, as every
app process's APScheduler does. Both start on a shared barrier, so they race on every slot.

- `claim`: the normal path. Each (job, slot) is claimed once in job_runs; the loser skips.
- `overlap`: each process claims its own slot name, so both run *every* sweep at the same time.
  This is what is left when the claim cannot help (clocks skewed across a slot boundary, a run
  that outlasts its slot): the sweeps' per-entity idempotency alone must keep every row single.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.resilience.support import PY, SEED_AT, app_env, fetch

pytestmark = pytest.mark.resilience

START = SEED_AT + timedelta(minutes=7)  # off the slot boundaries, as a real tick would be
END = START + timedelta(days=7)
# Every 2 hours keeps the test near 1 minute on a shared 2-core machine; RESILIENCE_STEP_MINUTES=15
# plays every 15-minute tick (about 8x longer).
STEP_MINUTES = int(os.environ.get("RESILIENCE_STEP_MINUTES", "120"))
JOBS = ("plan-day", "remind-overdue", "escalate", "digest", "grade-customers")
REMINDER = "kind LIKE '%remind%' OR kind LIKE '%overdue%'"
PLAN_FROM, DIGEST_FROM = dtime(6, 0), dtime(7, 30)

DUPLICATES = {
    "daily plans per (rep, local_date)": "SELECT rep_id, local_date, count(*) FROM daily_plans "
    "GROUP BY rep_id, local_date HAVING count(*) > 1",
    "digests per (manager, local_date)": "SELECT manager_id, local_date, count(*) FROM digests "
    "GROUP BY manager_id, local_date HAVING count(*) > 1",
    "notifications per dedup_key": "SELECT dedup_key, count(*) FROM notifications "
    "GROUP BY dedup_key HAVING count(*) > 1",
    "open escalations per dedup_key": "SELECT dedup_key, count(*) FROM escalations "
    "WHERE state <> 'resolved' GROUP BY dedup_key HAVING count(*) > 1",
    "job runs per (job, slot)": "SELECT job, slot, count(*) FROM job_runs "
    "GROUP BY job, slot HAVING count(*) > 1",
    "planned tasks per (rep, day, customer, kind)": "SELECT rep_id, local_date, customer_id, kind, "
    "count(*) FROM tasks WHERE customer_id IS NOT NULL AND source = 'planner' "
    "GROUP BY rep_id, local_date, customer_id, kind HAVING count(*) > 1",
}


def _instants(step_minutes: int = STEP_MINUTES) -> list[datetime]:
    out, at = [], START
    while at < END:
        out.append(at)
        at += timedelta(minutes=step_minutes)
    return out


def _expected_days(ticks: list[datetime], timezone: str, from_time: dtime) -> set[date]:
    """Local dates on which some tick fell at or after `from_time` local."""
    zone = ZoneInfo(timezone)
    return {at.astimezone(zone).date() for at in ticks if at.astimezone(zone).time() >= from_time}


def add_daytime_tasks(url: str) -> None:
    """A manager-assigned call per rep per weekday, due at 11:00 local: reminders only go out in
    working hours, and the planner's visits fall due at 18:00, when the working day ends."""
    fetch(
        url,
        "INSERT INTO tasks (id, rep_id, local_date, kind, title, score, reasons, status, due_at, source,"
        " reminders_sent, created_at, updated_at)"
        " SELECT gen_random_uuid(), u.id, d::date, 'call', 'Call back', 0, '[]', 'planned',"
        " (d::date + time '11:00') AT TIME ZONE u.timezone, 'manager', 0, now(), now()"
        " FROM users u, generate_series($1::date, $2::date, interval '1 day') AS d"
        " WHERE u.role = 'rep' AND u.active AND extract(isodow from d) < 6",
        START.date(),
        END.date(),
    )


def play_week(url: str, workdir: Path, overlap: bool, step_minutes: int) -> list[dict[str, Any]]:
    add_daytime_tasks(url)
    barrier = workdir / "barrier"
    barrier.mkdir(parents=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for label in ("A", "B"):
            command = [
                PY, "-m", "tests.resilience.jobs_worker", "--label", label,
                "--start", START.isoformat(), "--end", END.isoformat(),
                "--step-minutes", str(step_minutes), "--jobs", ",".join(JOBS),
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
            dead = [p for p in processes if p.poll() is not None]
            assert not dead, _logs(workdir)
            assert time.monotonic() < deadline, "workers not ready in 90 s\n" + _logs(workdir)
            time.sleep(0.05)
        (barrier / "go").touch()
        for process in processes:
            process.wait(timeout=max(1.0, deadline + 120 - time.monotonic()))
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


def check_single_and_complete(url: str, ticks: list[datetime]) -> dict[str, int]:
    for what, sql in DUPLICATES.items():
        rows = fetch(url, sql)
        assert rows == [], f"duplicate {what}: {[tuple(r) for r in rows[:10]]}"
    users = fetch(url, "SELECT id, role, timezone FROM users WHERE active")
    plans = {(r["rep_id"], r["local_date"]) for r in fetch(url, "SELECT rep_id, local_date FROM daily_plans")}
    digests = {
        (r["manager_id"], r["local_date"]) for r in fetch(url, "SELECT manager_id, local_date FROM digests")
    }
    week = {at.date() + timedelta(days=shift) for at in ticks for shift in (-1, 0, 1)}
    expected_plans = {
        (u["id"], d)
        for u in users
        if u["role"] == "rep"
        for d in _expected_days(ticks, u["timezone"], PLAN_FROM)
        if d.weekday() < 5  # the sweep plans working days only (the seed has no holidays)
    }
    expected_digests = {
        (u["id"], d) for u in users if u["role"] == "manager" for d in _expected_days(ticks, u["timezone"], DIGEST_FROM)
        if d.weekday() < 5  # digests come on working days only (the seed has no holidays)
    }  # fmt: skip
    assert expected_plans, "no rep in the seeded company"
    assert expected_plans <= plans, f"missing plans: {sorted(expected_plans - plans)[:10]}"
    assert all(d.weekday() < 5 for _, d in plans), "a weekend was planned"
    week_plans = {p for p in plans if p[1] in week}
    assert week_plans == expected_plans, f"unexpected plans: {sorted(week_plans - expected_plans)[:10]}"
    assert expected_digests <= digests, f"missing digests: {sorted(expected_digests - digests)[:10]}"
    counts = {
        "plans": len(plans),
        "digests": len(digests),
        "tasks": fetch(url, "SELECT count(*) FROM tasks")[0][0],
        "notifications": fetch(url, "SELECT count(*) FROM notifications")[0][0],
        "reminders": fetch(url, f"SELECT count(*) FROM notifications WHERE {REMINDER}")[0][0],
        "escalations": fetch(url, "SELECT count(*) FROM escalations")[0][0],
        "open_escalations": fetch(url, "SELECT count(*) FROM escalations WHERE state <> 'resolved'")[0][0],
    }
    assert counts["reminders"] > 0, "the week produced no reminder: the test would prove nothing"
    assert counts["escalations"] > 0, "the week produced no escalation: the test would prove nothing"
    return counts


def test_two_processes_claim_each_slot_once(pg_db: str, tmp_path: Path) -> None:
    results = play_week(pg_db, tmp_path, overlap=False, step_minutes=STEP_MINUTES)
    ticks = _instants()
    instants = len(ticks)
    ran: Counter[str] = Counter()
    for result in results:
        assert result["failures"] == [], result["failures"]
        for key, n in result["counts"].items():
            job_name, outcome = key.split(":")
            if outcome == "ran":
                ran[job_name] += n
    runs = fetch(pg_db, "SELECT job, status, count(*) AS n FROM job_runs GROUP BY job, status")
    assert {r["status"] for r in runs} == {"ok"}, [tuple(r) for r in runs]
    slots = {r["job"]: r["n"] for r in runs}
    for job_name in JOBS:
        # Every tick's slot ran exactly once, in one process or the other.
        assert ran[job_name] == slots[job_name], (job_name, ran[job_name], slots[job_name])
        per_process = [result["counts"].get(f"{job_name}:ran", 0) + result["counts"].get(f"{job_name}:skipped", 0) for result in results]  # fmt: skip
        assert per_process == [instants, instants]
    assert slots["plan-day"] == instants and slots["grade-customers"] == len({at.date() for at in ticks})
    counts = check_single_and_complete(pg_db, ticks)
    split = {r["label"]: sum(v for k, v in r["counts"].items() if k.endswith(":ran")) for r in results}
    print(f"\nclaim mode: {instants} ticks x {len(JOBS)} jobs per process; runs won {split}; {counts}; "
          f"seconds {[r['seconds'] for r in results]}")  # fmt: skip


def test_two_processes_running_every_sweep_at_once(pg_db: str, tmp_path: Path) -> None:
    # Both processes run every sweep: twice the work, so every 3 hours (still 8 ticks a day).
    step = max(STEP_MINUTES, 180)
    results = play_week(pg_db, tmp_path, overlap=True, step_minutes=step)
    failures = [f for result in results for f in result["failures"]]
    counts = check_single_and_complete(pg_db, _instants(step))
    runs = fetch(pg_db, "SELECT status, count(*) FROM job_runs GROUP BY status")
    assert {r[0] for r in runs} == {"ok"}, [tuple(r) for r in runs]
    print(f"\noverlap mode: {counts}; failures {len(failures)}; seconds {[r['seconds'] for r in results]}")
    for failure in failures[:5]:
        print("  ", failure[-400:])
    # A sweep that loses a race may roll back (the next tick catches up), but must not fail.
    assert failures == [], failures[:3]
