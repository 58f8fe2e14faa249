"""Translated names of plan statuses, metrics, unit kinds and granularities, for the plan pages."""

from __future__ import annotations

from server.core.i18n import gettext as _


def plan_labels() -> dict[str, dict[str, str]]:
    """Translated names for statuses, metrics and unit kinds (computed per request: locale)."""
    return {
        "status": {
            "draft": _("Draft"),
            "submitted": _("Submitted"),
            "approved": _("Approved"),
            "returned": _("Returned"),
            "superseded": _("Superseded"),
        },
        "metric": {"revenue": _("Revenue"), "visits": _("Visits"), "new_customers": _("New customers")},
        "kind": {"company": _("Company"), "region": _("Region"), "team": _("Team"), "rep": _("Rep")},
        "granularity": {"year": _("Year"), "quarter": _("Quarter"), "month": _("Month"), "week": _("Week")},
    }
