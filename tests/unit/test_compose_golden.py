"""compose_day over bench_compose's varied world (300 reps) gives exactly the plans recorded in
data/compose_golden.json, which the planner wrote before it was made faster: the same picks in the
same order, scores to the bit, ranks, route orders, legs, stats, and the same reasons (compared by
digest, to keep the file small).

The world (bench/bench_compose.py, varied=True) has prospects, never-visited customers, unknown
grades, customer-specific rhythms, promises, deals near their close, past it and stale, missed
tasks carried over (with and without a customer), pins and other kept tasks, customers without
coordinates, reps without a start point, every weekday including Fridays and weekends, capacities
0-20, days not filled, three effort splits and three deal rules. New task ids come from a seeded
generator, so ties broken by id are reproducible.

If a change *means* to change plans, regenerate the file in the same commit and say why:

    .venv/bin/python -m tests.unit.test_compose_golden
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from bench.bench_compose import NOW, RepDay, world
from server.domain import compose
from server.domain.compose import compose_day

GOLDEN = Path(__file__).parent / "data" / "compose_golden.json"
REPS, SEED = 300, 2026
# Row fields recorded per row (in this order); the others are the same for every row of a rep.
ROW_FIELDS = ("customer_id", "kind", "title", "source", "promise_id", "carried_from_id",
              "score", "reasons", "rank", "route_order", "distance_m")  # fmt: skip
CONSTANT = {"status": "planned", "created_by": None, "checkin_id": None, "status_reason": None,
            "status_note": None, "snoozed_until": None, "status_changed_at": None,
            "reminders_sent": 0, "last_reminded_at": None, "created_at": NOW, "updated_at": NOW}  # fmt: skip
KEPT_FIELDS = ("score", "reasons", "rank", "route_order", "distance_m")


def _short(value: Any) -> Any:
    """UUIDs by their first 8 hex digits (unique within a rep), reasons by a digest."""
    if isinstance(value, UUID):
        return value.hex[:8]
    if isinstance(value, list):  # reasons
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@contextmanager
def seeded_task_ids(seed: int) -> Iterator[None]:
    ids = random.Random(seed)
    original = compose.uuid4
    compose.uuid4 = lambda: UUID(int=ids.getrandbits(128))  # type: ignore[assignment]
    try:
        yield
    finally:
        compose.uuid4 = original  # type: ignore[assignment]


def plan(d: RepDay) -> dict[str, Any]:
    """One rep's composed day, as recorded in the golden file."""
    result = compose_day(
        d.rep, d.day, d.inputs, d.intervals, NOW, d.fill, split=d.split, deal_rule=d.deal_rule
    )
    for row in result.new_rows:
        assert {k: row[k] for k in CONSTANT} == CONSTANT
        assert (row["rep_id"], row["local_date"]) == (d.rep.id, d.day)
        assert isinstance(row["id"], UUID)
    return {
        "rows": [[_short(row[k]) for k in ROW_FIELDS] for row in result.new_rows],
        "due_at": sorted({_short(row["due_at"]) for row in result.new_rows}),
        "kept": [[_short(getattr(t, k)) for k in KEPT_FIELDS] for t in d.inputs.day_tasks],
        "stats": result.stats,
    }


def plans() -> list[dict[str, Any]]:
    with seeded_task_ids(SEED + 1):
        return [plan(d) for d in world(REPS, SEED, varied=True)]


@pytest.fixture(scope="module")
def composed() -> list[dict[str, Any]]:
    return plans()


def test_the_world_covers_what_composing_reads(composed: list[dict[str, Any]]) -> None:
    stats = [p["stats"] for p in composed]
    for key in ("mandatory", "must_visit", "carried_over", "promises", "deals"):
        assert sum(s[key] for s in stats) > 20, key
    assert sum(1 for p in composed for row in p["rows"] if row[6] == 0) >= 6  # no reason at all
    rows = [row for p in composed for row in p["rows"]]
    kinds = {row[1] for row in rows}
    assert {"visit", "call", "follow_up", "custom"} <= kinds
    assert sum(1 for row in rows if row[10] is None) > 50  # not routed: calls, no coordinates
    assert sum(1 for p in composed if p["kept"]) > 50
    assert sum(1 for s in stats if s["buckets"].get("prospect")) > 50


def test_plans_are_the_recorded_ones(composed: list[dict[str, Any]]) -> None:
    recorded = json.loads(GOLDEN.read_text())
    assert len(composed) == len(recorded) == REPS
    for n, (got, want) in enumerate(zip(composed, recorded, strict=True)):
        # As JSON: an int 0 is not the float 0.0 (a score without reasons is an int), nor 0.0 -0.0.
        assert json.dumps(got) == json.dumps(want), f"rep {n}"


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(plans(), separators=(",", ":")).replace('{"rows"', '\n{"rows"') + "\n")
    print(f"wrote {GOLDEN}")
