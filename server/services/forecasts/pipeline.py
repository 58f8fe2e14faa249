"""The probability-weighted open pipeline per rep and month of expected close, for the in-period
forecast (one query for all reps of a company)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Opportunity, OpportunityStage
from server.services.forecasts.history import month_expr

CENT = Decimal("0.01")


async def load_pipeline(
    session: AsyncSession, company_id: UUID, reps: Collection[UUID], as_of: date, until: date
) -> dict[tuple[UUID, str], Decimal]:
    """(rep, 'YYYY-MM') -> sum of amount x probability of the company's open deals (a stage of kind
    `open`, no order yet) owned by one of `reps`, expected to close from `as_of` (the first day
    whose orders are not in the actuals yet) through `until`. Won deals are in the actuals as their
    order, lost ones count nothing, overdue ones (expected before `as_of`) and undated ones are
    not expected in any period. Grouped by probability so the weighting is exact in decimals."""
    month = month_expr(session, Opportunity.expected_close)
    rows = await session.execute(
        select(Opportunity.owner_rep_id, month, Opportunity.probability, func.sum(Opportunity.amount))
        .join(OpportunityStage, OpportunityStage.id == Opportunity.stage_id)
        .where(
            Opportunity.company_id == company_id,
            OpportunityStage.kind == "open",
            Opportunity.order_id.is_(None),
            Opportunity.owner_rep_id.is_not(None),
            Opportunity.expected_close >= as_of,
            Opportunity.expected_close <= until,
        )
        .group_by(Opportunity.owner_rep_id, month, Opportunity.probability)
    )
    wanted = set(reps)
    weighted: dict[tuple[UUID, str], Decimal] = defaultdict(Decimal)
    for rep, key, probability, amount in rows:
        if rep in wanted:
            weighted[(rep, key)] += Decimal(amount) * probability / 100
    return {key: value.quantize(CENT) for key, value in weighted.items()}
