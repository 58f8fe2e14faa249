"""The review pages' charts: the report's figures turned into SVG bar charts (services.charts).

Titles and descriptions are translated here; each chart has a table with the same figures next
to it on the page.
"""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup

from server.core.i18n import format_money, format_number, format_percent
from server.core.i18n import gettext as _
from server.domain.charts import Bar, Group, Marker, bar_chart
from server.services.reviews.metrics import REACH_FLOOR
from server.services.reviews.scorecard import Scorecard
from server.services.reviews.weekly import WeeklyReview


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + format_percent(value)


def weekly_charts(review: WeeklyReview) -> dict[str, Markup]:
    reps = [row for row in review.plan if row.rep_id is not None]
    funnel_row = review.total or (reps[0] if reps else None)
    charts = {
        "plan": bar_chart(
            "chart-plan",
            _("Revenue this week: plan and actual"),
            _("For each rep, the week's share of the month plan next to the revenue booked this week."),
            [
                Group(
                    row.name,
                    [
                        Bar(row.week_plan, format_money(row.week_plan), "plan")
                        if row.week_plan is not None
                        else Bar(None, _("No target")),
                        Bar(row.week_actual, format_money(row.week_actual), "actual"),
                    ],
                )
                for row in reps
            ],
            legend=[(_("Plan"), "plan"), (_("Actual"), "actual")],
        ),
        "reach": bar_chart(
            "chart-reach",
            _("Reach: customers visited within their interval"),
            _("Share of each rep's active customers visited within their grade's interval; the line is the %(floor)s floor.",
              floor=format_percent(REACH_FLOOR)),
            [
                Group(row.name, [Bar(row.reach.rate, format_percent(row.reach.rate), "below" if row.below_floor else "")])
                for row in review.grades
                if row.rep_id is not None
            ],
            marker=Marker(REACH_FLOOR, format_percent(REACH_FLOOR)),
            maximum=1,
        ),
        "movers": bar_chart(
            "chart-movers",
            _("Biggest movers"),
            _("Change in week attainment (revenue against the week's plan) compared with last week."),
            [Group(m.name, [Bar(m.change, _signed(m.change))]) for m in review.movers_up + review.movers_down],
        ),
    }  # fmt: skip
    if funnel_row is not None:
        visits = funnel_row.week_visits
        charts["funnel"] = bar_chart(
            "chart-funnel",
            _("Visit to order funnel this week"),
            _("Planned visits, visits made, visits with an order, and the amount those orders bring."),
            [
                Group(_("Planned visits"), [Bar(funnel_row.week_visits_planned, format_number(funnel_row.week_visits_planned))]),
                Group(_("Visits made"), [Bar(visits.done, format_number(visits.done))]),
                Group(
                    _("With an order"),
                    [Bar(visits.with_order, f"{format_number(visits.with_order)} · {format_money(visits.order_amount)}")],
                ),
            ],
        )  # fmt: skip
    return charts


def scorecard_charts(card: Scorecard) -> dict[str, Markup]:
    """One chart of scores per team leaderboard, keyed by the team's id."""
    return {
        str(board.team_id): bar_chart(
            f"chart-score-{board.team_id}",
            _("Scores in %(team)s", team=board.team),
            _("Each rep's weighted score from 0 to 100%, best first."),
            [
                Group(row.rep.name, [Bar(row.score, format_percent(row.score))] if row.score is not None
                      else [Bar(None, _("Not scored"))])
                for row in board.rows
            ],
            maximum=1,
        )
        for board in card.boards
    }  # fmt: skip
