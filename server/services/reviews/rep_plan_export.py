"""Reps' plans in the weekly review's JSON and CSV: one row per to-do (table `rep_plans`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.services.reviews.rep_plan_views import PlanView, RepPlanViews
from server.services.reviews.weekly import WeeklyReview

REP_PLAN_COLUMNS = (
    "plan_id", "rep_id", "name", "status", "item_id", "title", "due_at", "metric", "customer_id",
    "customer", "result_text", "planned", "achieved", "attainment", "done",
)  # fmt: skip


def rep_plan_rows(views: Sequence[PlanView]) -> list[dict[str, Any]]:
    """Each to-do of each plan with its planned and achieved result, rep by rep."""
    return [
        {
            "plan_id": view.plan.id,
            "rep_id": view.plan.rep_id,
            "name": view.rep.name,
            "status": view.plan.status,
            "item_id": row.item.id,
            "title": row.item.title,
            "due_at": row.item.due_at,
            "metric": row.item.metric,
            "customer_id": row.item.customer_id,
            "customer": row.customer_name,
            "result_text": row.item.result_text,
            "planned": row.item.target_value,
            "achieved": row.achieved,
            "attainment": row.attainment,
            "done": row.item.done_at is not None,
        }
        for view in views
        for row in view.items
    ]


async def review_plans(services: Any, review: WeeklyReview) -> list[PlanView]:
    """The plans of the review's reps for its week."""
    rep_ids = [row.rep_id for row in review.plan if row.rep_id is not None]
    return await services.get(RepPlanViews).for_review(rep_ids, review.week_start)
