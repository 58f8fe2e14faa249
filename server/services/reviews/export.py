"""JSON and CSV shapes of the stand-up board, the weekly review and the scorecard.

Each report's tables are flat rows built once here; the API returns them as JSON and `?format=csv`
writes the very same rows, so an export never disagrees with the screen or the API.
"""

from __future__ import annotations

from typing import Any

from server.services.reviews.metrics import REACH_FLOOR
from server.services.reviews.plan import MonthPace
from server.services.reviews.scorecard import WEIGHT_KEYS, Scorecard
from server.services.reviews.standup import MEETING_MINUTES, StandupBoard, StandupCard
from server.services.reviews.weekly import GRADES, WeeklyReview

TEAM = "team"  # the rep_id of a team total row in exports
Row = dict[str, Any]

STANDUP_COLUMNS = (
    "rep_id", "name", "team", "visits_planned", "visits_done", "visits_completed", "orders",
    "order_amount", "top_tasks", "open_escalations", "overdue_promises", "missed_visits",
    "pace", "pace_status", "month_actual", "month_expected", "month_target",
)  # fmt: skip

WEEKLY_COLUMNS: dict[str, tuple[str, ...]] = {
    "plan": (
        "rep_id", "name", "team", "week_plan", "week_actual", "week_attainment", "mtd_plan",
        "mtd_actual", "mtd_attainment", "month_target", "week_visits_planned", "week_visits_done",
        "week_visit_compliance", "week_visits_completed", "mtd_visits_planned", "mtd_visits_done",
        "mtd_visit_compliance", "mtd_visits_completed",
    ),
    "grades": (
        "rep_id", "name", *(f"{g}_{k}" for g in GRADES for k in ("assigned", "visited", "compliance")),
        "assigned", "visited", "reach", "below_reach_floor",
    ),
    "funnel": (
        "rep_id", "name", "visits_planned", "visits_done", "visits_with_order", "order_amount", "hit_rate",
    ),
    "movers": ("direction", "rep_id", "name", "team", "last_week_attainment", "week_attainment", "change"),
}  # fmt: skip

SCORECARD_COLUMNS = (
    "team_id", "team", "rank", "rep_id", "name", "result", "visit_compliance", "reach", "process",
    "team_attainment", "score",
)  # fmt: skip


def _unit(unit: Any) -> Row:
    return {"id": unit.id, "name": unit.name, "timezone": unit.timezone}


# ---- Stand-up ----


def standup_json(board: StandupBoard) -> Row:
    return {
        "org_unit": _unit(board.unit),
        "date": board.day,
        "yesterday": board.yesterday,
        "meeting_minutes": MEETING_MINUTES,
        "seconds_per_rep": board.seconds_per_rep,
        "cards": [_card(card) for card in board.cards],
    }


def _card(card: StandupCard) -> Row:
    y = card.yesterday
    return {
        "rep_id": card.rep.id,
        "name": card.rep.name,
        "team": card.rep.team,
        "yesterday": {
            "visits_planned": y.visits_planned,
            "visits_done": y.visits_done,
            "visits_completed": y.visits_completed,
            "orders": y.orders,
            "order_amount": y.order_amount,
        },
        "today": [
            {"task_id": t.id, "rank": t.rank, "kind": t.kind, "status": t.status,
             "customer_name": t.customer_name, "title": t.title, "reasons": t.reasons}
            for t in card.today
        ],
        "blockers": {
            "escalations": [
                {"id": e.id, "rule": e.rule, "severity": e.severity, "level": e.level, "state": e.state,
                 "opened_at": e.opened_at}
                for e in card.escalations
            ],
            "overdue_promises": [
                {"id": p.id, "customer_name": p.customer_name, "text": p.text, "due_on": p.due_on}
                for p in card.overdue_promises
            ],
            "missed_visits": [
                {"task_id": m.task_id, "customer_name": m.customer_name, "title": m.title}
                for m in card.missed_visits
            ],
        },
        "pace": _pace(card.pace),
    }  # fmt: skip


def _pace(pace: MonthPace | None) -> Row | None:
    if pace is None:
        return None
    return {
        "status": pace.status,
        "pace": pace.pace,
        "actual": pace.actual,
        "expected": pace.expected,
        "target": pace.target,
        "attainment": pace.attainment,
    }


def standup_rows(board: StandupBoard) -> list[Row]:
    """One flat row per card for the CSV export (the same figures as standup_json)."""
    rows = []
    for card in board.cards:
        y, pace = card.yesterday, _pace(card.pace) or {}
        tasks = "; ".join(f"{t.customer_name or t.title or t.kind} ({t.kind})" for t in card.today)
        rows.append(
            {
                "rep_id": card.rep.id, "name": card.rep.name, "team": card.rep.team,
                "visits_planned": y.visits_planned, "visits_done": y.visits_done,
                "visits_completed": y.visits_completed, "orders": y.orders, "order_amount": y.order_amount,
                "top_tasks": tasks, "open_escalations": len(card.escalations),
                "overdue_promises": len(card.overdue_promises), "missed_visits": len(card.missed_visits),
                "pace": pace.get("pace"), "pace_status": pace.get("status"),
                "month_actual": pace.get("actual"), "month_expected": pace.get("expected"),
                "month_target": pace.get("target"),
            }
        )  # fmt: skip
    return rows


# ---- Weekly review ----


def weekly_tables(review: WeeklyReview) -> dict[str, list[Row]]:
    """Every table of the review as flat rows, keyed by the name `?table=` exports."""
    plan = [_pick(row, WEEKLY_COLUMNS["plan"]) for row in review.plan]
    funnel = [
        {
            "rep_id": row.rep_id or TEAM,
            "name": row.name,
            "visits_planned": row.week_visits_planned,
            "visits_done": row.week_visits.done,
            "visits_with_order": row.week_visits.with_order,
            "order_amount": row.week_visits.order_amount,
            "hit_rate": row.week_visits.hit_rate,
        }
        for row in review.plan
    ]
    grades = []
    for grade_row in review.grades:
        cells: Row = {"rep_id": grade_row.rep_id or TEAM, "name": grade_row.name}
        for grade, reach in grade_row.grades.items():
            cells[f"{grade}_assigned"] = reach.assigned
            cells[f"{grade}_visited"] = reach.visited
            cells[f"{grade}_compliance"] = reach.rate
        cells["assigned"], cells["visited"] = grade_row.reach.assigned, grade_row.reach.visited
        cells["reach"], cells["below_reach_floor"] = grade_row.reach.rate, grade_row.below_floor
        grades.append(cells)
    movers = [
        {
            "direction": direction,
            "rep_id": m.rep_id,
            "name": m.name,
            "team": m.team,
            "last_week_attainment": m.last_week,
            "week_attainment": m.this_week,
            "change": m.change,
        }
        for direction, group in (("up", review.movers_up), ("down", review.movers_down))
        for m in group
    ]
    return {"plan": plan, "grades": grades, "funnel": funnel, "movers": movers}


def _pick(row: Any, columns: tuple[str, ...]) -> Row:
    values = {column: getattr(row, column) for column in columns}
    values["rep_id"] = values["rep_id"] or TEAM
    return values


def weekly_json(review: WeeklyReview) -> Row:
    return {
        "org_unit": _unit(review.unit),
        "week": review.iso_week,
        "week_start": review.week_start,
        "week_end": review.week_end,
        "as_of": review.as_of,
        "month_start": review.month_start,
        "reach_floor": REACH_FLOOR,
        **weekly_tables(review),
    }


# ---- Scorecard ----


def scorecard_rows(card: Scorecard) -> list[Row]:
    """The leaderboards as one flat table, team by team, best first."""
    return [
        {
            "team_id": board.team_id,
            "team": board.team,
            "rank": row.rank,
            "rep_id": row.rep.id,
            "name": row.rep.name,
            "result": row.result,
            "visit_compliance": row.visit_compliance,
            "reach": row.reach,
            "process": row.process,
            "team_attainment": row.team,
            "score": row.score,
        }
        for board in card.boards
        for row in board.rows
    ]


def scorecard_json(card: Scorecard) -> Row:
    return {
        "org_unit": _unit(card.unit),
        "month": card.iso_month,
        "as_of": card.as_of,
        "weights": dict(zip(WEIGHT_KEYS, card.weights, strict=True)),
        "leaderboard": scorecard_rows(card),
    }
