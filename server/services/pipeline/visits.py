"""A visit's check-out creates or advances a deal, in the check-out's own transaction.

Replays never act twice: a replayed check-out is answered from the stored one before this runs,
and the rows carry the check-in id under unique constraints (opportunities.source_checkin_id for a
created deal, opportunity_stage_changes.checkin_id for a stage change) as the last word.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from server.core.access import Principal, Scope
from server.core.errors import ProblemError, field_error
from server.core.i18n import gettext as _
from server.core.services import Service
from server.domain.checkin import CheckoutOpportunity
from server.services.pipeline.opportunities import OpportunitiesService


def _prefixed(problem: ProblemError) -> ProblemError:
    """The same problem with its fields named inside the check-out body (`opportunity.stage`)."""
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    errors = [{**e, "field": f"opportunity.{e['field']}"} for e in extra.get("errors", [])]
    detail = f"opportunity.{problem.detail}" if errors else str(problem.detail)
    return ProblemError(problem.status_code, detail, errors)


class VisitDeals(Service):
    async def record(
        self, rep: Principal, checkin_id: UUID, customer_id: UUID, deal: CheckoutOpportunity
    ) -> UUID:
        """Create the deal (no id) or apply the sent fields to it; returns its id."""
        access = Scope(rep)  # a rep's scope is themself: no query needed
        opportunities = self.ctx.get(OpportunitiesService)
        fields: dict[str, Any] = {
            name: getattr(deal, name)
            for name in ("title", "amount", "stage", "expected_close")
            if getattr(deal, name) is not None
        }
        try:
            if deal.id is None:
                row = await opportunities.create(access, {**fields, "customer_id": customer_id}, checkin_id)
            else:
                current = await opportunities.get(access, deal.id)
                if current.opportunity.customer_id != customer_id:
                    raise field_error("id", _("is a deal of another customer"))
                row = await opportunities.update(access, deal.id, fields, checkin_id)
        except ProblemError as problem:
            raise _prefixed(problem) from None
        return row.opportunity.id
