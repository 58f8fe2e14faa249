"""A small seeded company for the stand-up and review tests, and an oracle over its raw rows.

The scenario is inserted directly (tasks, check-ins, orders, targets, escalations, promises with
known values) and kept in memory, so the tests recompute every figure from the very rows they
wrote, with plain loops, and compare with the API. This module holds no tests itself.

Now is 2026-11-18T02:00Z: Wednesday 18 November, 10:00 in Shanghai (the company's zone).
The board date is 18 Nov, so "yesterday" is Tuesday 17 Nov; week 2026-W47 runs 16-22 Nov.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import (
    Checkin,
    Customer,
    Escalation,
    Order,
    OrgSettings,
    OrgUnit,
    Promise,
    Target,
    Task,
    User,
    VisitPolicy,
)
from server.services.auth.accounts import hash_password
from tests.conftest import mint_token

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
TODAY = date(2026, 11, 18)
YESTERDAY = date(2026, 11, 17)
WEEK = "2026-W47"
MONDAY = date(2026, 11, 16)
PASSWORD = "standup-test-pass"
INTERVALS = {"A": 5, "B": 14, "C": 30, "D": 60}  # A differs from the default 7 on purpose
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def q4(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def q2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    """A Shanghai wall-clock time as a UTC instant."""
    return datetime.combine(day, time(hh, mm), ZONE).astimezone(UTC)


@dataclass
class Scenario:
    company: UUID = field(default_factory=uuid4)
    region: UUID = field(default_factory=uuid4)
    team1: UUID = field(default_factory=uuid4)
    team2: UUID = field(default_factory=uuid4)
    other_company: UUID = field(default_factory=uuid4)
    users: dict[str, UUID] = field(default_factory=dict)
    customers: dict[str, UUID] = field(default_factory=dict)
    grade: dict[UUID, str] = field(default_factory=dict)
    status: dict[UUID, str] = field(default_factory=dict)
    owner: dict[UUID, UUID] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    checkins: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    promises: list[dict[str, Any]] = field(default_factory=list)

    def rep(self, name: str) -> UUID:
        return self.users[name]

    # ---- The oracle: figures recomputed from the raw rows with plain loops ----

    def visit_statuses(self, rep: UUID, start: date, end: date, today: date = TODAY) -> Counter[str]:
        """Visit task statuses, a past day's open task counted as missed."""
        found: Counter[str] = Counter()
        for t in self.tasks:
            if t["rep_id"] != rep or t["kind"] != "visit" or not start <= t["local_date"] <= end:
                continue
            moved = t["status"] == "snoozed" and t.get("status_reason") == "rescheduled"
            still_open = t["status"] == "planned" or (t["status"] == "snoozed" and not moved)
            found["missed" if t["local_date"] < today and still_open else t["status"]] += 1
        return found

    def completed(self, rep: UUID, start: date, end: date) -> list[dict[str, Any]]:
        """Completed check-ins whose Shanghai check-in date is in [start, end]."""
        return [
            c
            for c in self.checkins
            if c["rep_id"] == rep
            and c["checked_out_at"] is not None
            and start <= c["checked_in_at"].astimezone(ZONE).date() <= end
        ]

    def orders_of(self, rep: UUID, start: date, end: date) -> list[dict[str, Any]]:
        return [o for o in self.orders if o["rep_id"] == rep and start <= o["ordered_on"] <= end]

    def revenue(self, rep: UUID, start: date, end: date) -> Decimal:
        return sum((o["amount"] for o in self.orders_of(rep, start, end)), Decimal(0))

    def month_target(self, scope_id: UUID) -> Decimal | None:
        amounts = [t["amount"] for t in self.targets if t["scope_id"] == scope_id]
        return amounts[0] if amounts else None

    def expected(self, scope_id: UUID, as_of: date) -> Decimal:
        """November target x working days elapsed / working days in November (no holidays)."""
        target = self.month_target(scope_id) or Decimal(0)
        days = [date(2026, 11, d) for d in range(1, 31)]
        working = [d for d in days if d.weekday() < 5]
        elapsed = [d for d in working if d <= as_of]
        return q2(target * len(elapsed) / len(working)) if as_of.month == 11 else Decimal(0)

    def plan_between(self, scope_id: UUID, start: date, end: date) -> Decimal:
        return self.expected(scope_id, end) - self.expected(scope_id, start - timedelta(days=1))

    def in_cadence(self, customer: UUID, as_of: date) -> bool:
        since = as_of - timedelta(days=INTERVALS[self.grade[customer]] - 1)
        return any(
            c["customer_id"] == customer
            and c["checked_out_at"] is not None
            and since <= c["checked_in_at"].astimezone(ZONE).date() <= as_of
            for c in self.checkins
        )

    def reach(self, rep: UUID, as_of: date, grade: str | None = None) -> tuple[int, int]:
        assigned = [
            c
            for c, owner in self.owner.items()
            if owner == rep and self.status[c] == "active" and (grade is None or self.grade[c] == grade)
        ]
        return len(assigned), sum(1 for c in assigned if self.in_cadence(c, as_of))


@cache
def _password_hash() -> str:
    """One argon2 hash of PASSWORD per run: every scenario user shares it, as demo users do."""
    return hash_password(PASSWORD)


async def build(engine: AsyncEngine) -> Scenario:
    """Insert the scenario (see the module docstring) and return it with its raw rows."""
    s = Scenario()
    secret = _password_hash()
    units = [
        (s.company, None, "Acme Co.", "company"),
        (s.region, s.company, "North", "region"),
        (s.team1, s.region, "Team One", "team"),
        (s.team2, s.region, "Team Two", "team"),
        (s.other_company, None, "Other Co.", "company"),
    ]
    people = [
        ("exec", "executive", s.company),
        ("director", "manager", s.region),
        ("manager1", "manager", s.team1),
        ("manager2", "manager", s.team2),
        ("ann", "rep", s.team1),
        ("bob", "rep", s.team1),
        ("cyd", "rep", s.team2),
    ]
    for name, _role, _unit in people:
        s.users[name] = uuid4()
    ann, bob, cyd = s.rep("ann"), s.rep("bob"), s.rep("cyd")
    for key, owner, grade, status in [
        ("A1", ann, "A", "active"),
        ("A2", ann, "A", "active"),
        ("B1", ann, "B", "active"),
        ("C1", ann, "C", "active"),
        ("D1", ann, "D", "active"),
        ("P1", ann, "D", "prospect"),
        ("X1", ann, "B", "closed"),
        ("A3", bob, "A", "active"),
        ("B2", bob, "B", "active"),
        ("C2", cyd, "C", "active"),
    ]:
        s.customers[key] = cid = uuid4()
        s.grade[cid], s.status[cid], s.owner[cid] = grade, status, owner
    c = s.customers

    def task(
        rep: UUID, day: date, kind: str, status: str, rank: int | None, customer: str | None, **extra: Any
    ) -> None:
        s.tasks.append({"id": uuid4(), "rep_id": rep, "local_date": day, "kind": kind, "status": status,
                        "rank": rank, "customer_id": c[customer] if customer else None, "source": "planner",
                        "score": 1.0, "reasons": [], "title": None, "status_reason": None, **extra})  # fmt: skip
        # executemany takes its columns from the first row: every row carries every key.

    # Ann yesterday: 5 visit tasks (done, missed, still planned, skipped, moved away) and a call.
    task(ann, YESTERDAY, "visit", "done", 1, "A1")
    task(ann, YESTERDAY, "visit", "missed", 2, "A2")
    task(ann, YESTERDAY, "visit", "planned", 3, "B1")
    task(ann, YESTERDAY, "visit", "skipped", 4, "C1", status_reason="no_time")
    task(ann, YESTERDAY, "visit", "snoozed", 5, "D1", status_reason="rescheduled")
    task(ann, YESTERDAY, "call", "done", 6, None, title="Call the buyer")
    # Ann today: ranks out of insertion order; the fourth must not show.
    task(ann, TODAY, "visit", "planned", 2, "B1")
    task(ann, TODAY, "visit", "planned", 1, "A2", reasons=[{"code": "cadence", "text": "Grade A", "weight": 4,
                                                            "params": {"grade": "A", "days": None}}])  # fmt: skip
    task(ann, TODAY, "call", "planned", 3, None, title="Call about the invoice")
    task(ann, TODAY, "visit", "planned", 4, "C1")
    task(ann, TODAY, "visit", "snoozed", None, "D1", status_reason="rescheduled")
    # Ann earlier this week and last week.
    task(ann, MONDAY, "visit", "done", 1, "B1")
    task(ann, MONDAY, "visit", "done", 2, "C1")
    for status in ("done", "done", "missed"):
        task(ann, date(2026, 11, 10), "visit", status, None, "A1")
    # Bob: a moved task yesterday only (nothing planned that counts), none today.
    task(bob, YESTERDAY, "visit", "snoozed", 1, "A3", status_reason="rescheduled")

    def visit(rep: UUID, customer: str, at: datetime, done: bool = True) -> UUID:
        cid = uuid4()
        s.checkins.append({"id": cid, "rep_id": rep, "customer_id": c[customer], "checked_in_at": at,
                           "received_at": at, "geo_status": "verified", "flags": [], "request_hash": "t",
                           "checked_out_at": at + timedelta(minutes=30) if done else None, "extra": {}})  # fmt: skip
        return cid

    def order(rep: UUID | None, customer: str, day: date, amount: str, checkin: UUID | None = None) -> None:
        s.orders.append({"id": uuid4(), "customer_id": c[customer], "rep_id": rep, "amount": Decimal(amount),
                         "ordered_on": day, "source": "checkin" if checkin else "import", "checkin_id": checkin,
                         "created_at": NOW})  # fmt: skip

    a1_visit = visit(ann, "A1", local(YESTERDAY, 9, 30))
    visit(ann, "X1", local(YESTERDAY, 14))  # unplanned, closed customer: still a visit made
    visit(ann, "C1", local(YESTERDAY, 23, 30))  # late evening: still yesterday in Shanghai
    visit(ann, "B1", local(TODAY, 0, 30))  # 16:30Z on the 17th, but the 18th in Shanghai
    visit(ann, "A2", local(YESTERDAY, 16), done=False)  # never checked out: not a visit
    visit(ann, "A2", local(date(2026, 11, 13), 23))  # just outside A2's 5-day interval
    monday_visit = visit(ann, "B1", local(MONDAY, 10))
    visit(ann, "A1", local(date(2026, 11, 10), 11))
    visit(ann, "C1", local(date(2026, 11, 5), 11))
    visit(bob, "D1", local(date(2026, 11, 1), 11))  # another rep's visit keeps Ann's D1 in cadence
    visit(bob, "B2", local(date(2026, 11, 10), 15))
    order(ann, "A1", YESTERDAY, "500.00", a1_visit)
    order(ann, "B1", YESTERDAY, "250.50")
    order(ann, "B1", MONDAY, "200.00", monday_visit)
    order(ann, "A1", date(2026, 11, 10), "4000.00")
    order(ann, "C1", date(2026, 11, 3), "1000.00")
    order(ann, "A1", TODAY, "100.00")
    order(ann, "A1", date(2026, 10, 31), "999.00")  # last month
    order(bob, "A3", YESTERDAY, "300.00")
    order(bob, "B2", MONDAY, "900.00")
    order(bob, "A3", date(2026, 11, 12), "500.00")
    order(None, "A1", YESTERDAY, "77.00")  # no rep: nobody's card

    for scope, scope_id, amount in [
        ("user", ann, "21000"),
        ("user", bob, "10500"),
        ("org_unit", s.team1, "42000"),
    ]:
        s.targets.append({"id": uuid4(), "scope": scope, "scope_id": scope_id, "metric": "revenue",
                          "period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30), "granularity": "month",
                          "amount": Decimal(amount), "status": "approved", "version": 1, "approved_at": NOW})  # fmt: skip

    def escalation(subject: UUID, state: str, severity: str, level: int, subject_type: str = "user") -> None:
        s.escalations.append({"id": uuid4(), "rule": "pace_revenue", "subject_type": subject_type,
                              "subject_id": subject, "org_unit_id": s.team1, "severity": severity, "level": level,
                              "state": state, "dedup_key": f"pace_revenue:{subject_type}:{subject}:{uuid4()}",
                              "opened_at": NOW - timedelta(days=2), "level_changed_at": NOW, "last_seen_at": NOW,
                              "snapshot": {}})  # fmt: skip

    escalation(ann, "open", "red", 3)
    escalation(ann, "resolved", "yellow", 1)
    escalation(bob, "acknowledged", "orange", 2)
    escalation(s.team1, "open", "red", 2, subject_type="org_unit")

    def promise(rep: UUID, customer: str, due: date, status: str = "open") -> None:
        s.promises.append({"id": uuid4(), "customer_id": c[customer], "rep_id": rep, "text": f"Quote for {customer}",
                           "due_on": due, "status": status, "created_at": NOW})  # fmt: skip

    promise(ann, "B1", date(2026, 11, 15))
    promise(ann, "C1", TODAY)  # due today: not overdue yet
    promise(ann, "A1", date(2026, 11, 10), status="done")
    promise(bob, "B2", YESTERDAY)

    async with engine.begin() as conn:
        await conn.execute(insert(OrgUnit), [
            {"id": i, "parent_id": p, "name": n, "kind": k, "timezone": TZ} for i, p, n, k in units
        ])  # fmt: skip
        await conn.execute(insert(User), [
            {"id": s.users[n], "email": f"{n}@acme.example", "name": n.title(), "role": r, "org_unit_id": u,
             "timezone": TZ, "password_hash": secret, "active": True} for n, r, u in people
        ])  # fmt: skip
        await conn.execute(insert(OrgSettings), [{"id": uuid4(), "company_id": s.company}])
        await conn.execute(insert(VisitPolicy), [
            {"id": uuid4(), "company_id": s.company, "grade": g, "interval_days": d} for g, d in INTERVALS.items()
        ])  # fmt: skip
        unit_of = {s.rep("ann"): s.team1, s.rep("bob"): s.team1, s.rep("cyd"): s.team2}
        await conn.execute(insert(Customer), [
            {"id": cid, "name": key, "owner_rep_id": s.owner[cid], "org_unit_id": unit_of[s.owner[cid]],
             "status": s.status[cid], "grade": s.grade[cid]} for key, cid in c.items()
        ])  # fmt: skip
        for model, rows in [
            (Checkin, s.checkins),
            (Task, s.tasks),
            (Target, s.targets),
            (Escalation, s.escalations),
        ]:
            await conn.execute(insert(model), rows)
        await conn.execute(insert(Order), s.orders)
        await conn.execute(insert(Promise), s.promises)
    return s


async def token(client: AsyncTestClient[Any], name: str) -> dict[str, str]:
    """Bearer header for a scenario user (exec, director, manager1, manager2, ann, bob, cyd),
    minted as tests/conftest.py's `bearer` does (no argon2 per call)."""
    return {"Authorization": f"Bearer {await mint_token(client, f'{name}@acme.example', 'bearer')}"}
