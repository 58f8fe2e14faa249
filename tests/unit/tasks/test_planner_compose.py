"""compose_day without a database: candidates, kept tasks, carry-over, capacity and routing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from server.db.models import Promise, Task
from server.domain.calendar import days_to_next_working_day
from server.domain.compose import build_candidate, compose_day, end_of_day
from server.domain.day_inputs import CustomerRow, RepDayInputs, RepRow
from server.domain.policy import DEFAULT_VISIT_INTERVALS

DAY = date(2026, 11, 18)
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
INTERVALS = dict(DEFAULT_VISIT_INTERVALS)
REP = RepRow(uuid4(), "Asia/Shanghai", None, 31.23, 121.47, 4, None)


def customer(n: int, grade: str = "B", days_ago: int | None = 20, **changes: object) -> CustomerRow:
    row = CustomerRow(
        id=UUID(int=n),
        owner_rep_id=REP.id,
        grade=grade,
        status="active",
        lat=31.23 + n / 100,
        lng=121.47,
        last_visit_on=DAY - timedelta(days=days_ago) if days_ago is not None else None,
        next_visit_due=None,
        last_order_on=None,
        orders=None,
        revenue=None,
        first_on=None,
        last_on=None,
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def task(customer_id: UUID | None, day: date = DAY, **fields: object) -> Task:
    values: dict[str, object] = {
        "id": uuid4(),
        "rep_id": REP.id,
        "local_date": day,
        "customer_id": customer_id,
        "kind": "visit",
        "title": None,
        "score": 1.0,
        "reasons": [],
        "status": "planned",
        "source": "planner",
        "carried_from_id": None,
        "promise_id": None,
    }
    return Task(**(values | fields))


def test_order_history_becomes_expected_value_and_usual_interval() -> None:
    row = customer(
        1,
        orders=4,
        revenue=Decimal("1000"),
        first_on=DAY - timedelta(days=90),
        last_on=DAY - timedelta(days=60),
    )
    candidate = build_candidate(row, DAY, INTERVALS, Decimal("5000"))
    assert candidate.expected_order_value == Decimal("250")
    assert candidate.usual_order_interval_days == 10
    assert candidate.days_since_last_order == 60 and candidate.days_since_visit == 20
    assert candidate.interval_days == 14


def test_next_visit_due_sets_a_customer_specific_interval() -> None:
    row = customer(1, next_visit_due=DAY - timedelta(days=15))  # visited 20 days ago, due after 5
    assert build_candidate(row, DAY, INTERVALS, Decimal(0)).interval_days == 5


def test_capacity_and_kept_tasks() -> None:
    done = task(UUID(int=1), status="done")
    skipped = task(UUID(int=2), status="skipped", status_reason="no_time")
    inputs = RepDayInputs(customers=[customer(n) for n in range(1, 10)], day_tasks=[done, skipped])
    composition = compose_day(REP, DAY, inputs, INTERVALS, NOW)
    new_customers = {row["customer_id"] for row in composition.new_rows}
    assert len(composition.new_rows) == 3  # capacity 4 minus the done task; the skip frees its slot
    assert new_customers.isdisjoint({UUID(int=1), UUID(int=2)})
    assert all(row["due_at"] == end_of_day(DAY, REP.timezone) for row in composition.new_rows)
    assert composition.new_rows[0]["due_at"] == datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # 18:00 local


def test_carry_over_of_a_missed_task_unless_visited_since() -> None:
    yesterday = DAY - timedelta(days=1)
    missed = task(UUID(int=1), yesterday, status="missed", kind="follow_up", title="Bring samples")
    visited_since = task(UUID(int=2), yesterday, status="missed")
    already_carried = task(UUID(int=3), yesterday, status="missed")
    copy = task(UUID(int=3), DAY - timedelta(days=0), status="done", carried_from_id=already_carried.id)
    inputs = RepDayInputs(
        customers=[customer(1, "D", 5), customer(2, "A", 0), customer(3)],
        past_tasks=[missed, visited_since, already_carried],
        day_tasks=[copy],
    )
    rows = {row["customer_id"]: row for row in compose_day(REP, DAY, inputs, INTERVALS, NOW).new_rows}
    carried = rows[UUID(int=1)]
    assert (carried["source"], carried["carried_from_id"], carried["kind"]) == (
        "carry_over",
        missed.id,
        "follow_up",
    )
    assert carried["title"] == "Bring samples"
    assert any(
        r["code"] == "carry_over" and r["text"] == "Carried over from 2026-11-17" for r in carried["reasons"]
    )
    assert rows.get(UUID(int=2), {}).get("source") != "carry_over"
    assert UUID(int=3) not in rows


def test_a_task_without_customer_carries_over_as_itself() -> None:
    missed = task(None, DAY - timedelta(days=2), status="missed", kind="custom", title="Expense report")
    rows = compose_day(REP, DAY, RepDayInputs(past_tasks=[missed]), INTERVALS, NOW).new_rows
    assert len(rows) == 1
    assert (rows[0]["customer_id"], rows[0]["title"], rows[0]["carried_from_id"]) == (
        None,
        "Expense report",
        missed.id,
    )


def test_promise_makes_a_follow_up_and_customers_without_location_are_calls() -> None:
    promise = Promise(
        id=uuid4(), customer_id=UUID(int=1), rep_id=REP.id, text="Quote", due_on=DAY, status="open"
    )
    inputs = RepDayInputs(
        customers=[customer(1, "D", 1), customer(2, "A", 30, lat=None, lng=None)],
        promises={UUID(int=1): promise},
    )
    rows = {row["customer_id"]: row for row in compose_day(REP, DAY, inputs, INTERVALS, NOW).new_rows}
    assert (rows[UUID(int=1)]["kind"], rows[UUID(int=1)]["promise_id"]) == ("follow_up", promise.id)
    assert rows[UUID(int=2)]["kind"] == "call"
    assert rows[UUID(int=2)]["route_order"] == 2 and rows[UUID(int=2)]["distance_m"] is None


def test_pins_get_fresh_reasons_and_everything_open_is_ranked_and_routed() -> None:
    pin = task(UUID(int=5), source="manager", score=6.0, reasons=[{"code": "manager_pin"}])
    done = task(UUID(int=6), status="done", rank=1, route_order=1)
    inputs = RepDayInputs(customers=[customer(n, "A", 30) for n in range(1, 7)], day_tasks=[pin, done])
    rows = compose_day(REP, DAY, inputs, INTERVALS, NOW).new_rows
    assert [r["code"] for r in pin.reasons] == ["cadence", "manager_pin", "due"]  # 30 days: overdue A
    assert pin.score == pytest.approx(12 + 6 + 6)
    assert sorted([pin.route_order, *(r["route_order"] for r in rows)]) == [1, 2, 3]
    assert sorted([pin.rank, *(r["rank"] for r in rows)]) == [1, 2, 3] and pin.rank == 1
    assert (done.rank, done.route_order) == (1, 1)  # finished tasks keep their place


def test_reroute_only_mode_adds_nothing() -> None:
    inputs = RepDayInputs(customers=[customer(1)], day_tasks=[task(None, kind="custom", title="x")])
    composition = compose_day(REP, DAY, inputs, INTERVALS, NOW, fill=False)
    assert composition.new_rows == [] and inputs.day_tasks[0].route_order == 1


@pytest.mark.parametrize(("day", "lead"), [(date(2026, 11, 16), 1), (date(2026, 11, 19), 1),
                                          (date(2026, 11, 20), 3), (date(2026, 11, 21), 2),
                                          (date(2026, 11, 22), 1)])  # fmt: skip
def test_candidates_know_how_long_until_the_next_working_day(day: date, lead: int) -> None:
    assert days_to_next_working_day(day) == lead
    assert build_candidate(customer(1, "A", 6), day, INTERVALS, Decimal(0)).days_to_next_working_day == lead
