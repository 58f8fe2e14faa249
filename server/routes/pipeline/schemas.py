"""Request and response bodies of the pipeline API (shared by its API and page modules' JSON)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from server.db.models import OpportunityStage
from server.services.pipeline.opportunities import OpportunityRow

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Text = Annotated[str, msgspec.Meta(max_length=500)]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
StageRef = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Unset = msgspec.UnsetType


class OpportunityIn(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: UUID
    title: Title
    amount: Decimal
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] = "USD"
    stage: StageRef | None = None  # a stage name or id; the first open stage when not given
    probability: Percent | None = None  # the stage's default when not given
    expected_close: date | None = None
    owner_rep_id: UUID | None = None
    next_step: Text | None = None
    lost_reason: Text | None = None
    external_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    create_order: bool = False  # created at Won: make its order in the same request


class OpportunityEdit(msgspec.Struct, forbid_unknown_fields=True):
    """Partial update: only the fields sent change (msgspec.UNSET: not sent)."""

    title: Title | Unset = msgspec.UNSET
    amount: Decimal | Unset = msgspec.UNSET
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] | Unset = msgspec.UNSET
    stage: StageRef | Unset = msgspec.UNSET
    probability: Percent | Unset | None = msgspec.UNSET  # null: back to the stage's default
    expected_close: date | Unset | None = msgspec.UNSET
    owner_rep_id: UUID | Unset | None = msgspec.UNSET
    next_step: Text | Unset | None = msgspec.UNSET
    lost_reason: Text | Unset | None = msgspec.UNSET
    create_order: bool = False  # with a move to Won: make its order in the same request


class StageOut(msgspec.Struct):
    id: UUID
    name: str
    position: int
    default_probability: int
    kind: str
    active: bool


class StageIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    default_probability: Percent
    kind: Literal["open", "won", "lost"]
    id: UUID | None = None


class StagesIn(msgspec.Struct, forbid_unknown_fields=True):
    stages: Annotated[list[StageIn], msgspec.Meta(min_length=3, max_length=30)]


class OpportunityOut(msgspec.Struct):
    id: UUID
    external_ref: str | None
    customer_id: UUID
    customer_name: str
    title: str
    amount: Decimal
    currency: str
    stage_id: UUID
    stage: str
    stage_kind: str
    probability: int
    probability_overridden: bool
    weighted_amount: Decimal
    expected_close: date | None
    owner_rep_id: UUID | None
    owner_name: str | None
    next_step: str | None
    lost_reason: str | None
    org_unit_id: UUID
    stage_changed_at: datetime
    closed_on: date | None
    order_id: UUID | None
    created_at: datetime
    updated_at: datetime


class StageChangeOut(msgspec.Struct):
    at: datetime
    from_stage: str | None
    to_stage: str
    by: str | None
    checkin_id: UUID | None


class OpportunityDetailOut(msgspec.Struct):
    opportunity: OpportunityOut
    history: list[StageChangeOut]


class OpportunityList(msgspec.Struct):
    items: list[OpportunityOut]
    total: int
    limit: int
    offset: int


class OrderOut(msgspec.Struct):
    order_id: UUID
    amount: Decimal
    currency: str
    ordered_on: date
    created: bool


def stage_out(stage: OpportunityStage) -> StageOut:
    return StageOut(
        id=stage.id, name=stage.name, position=stage.position,
        default_probability=stage.default_probability, kind=stage.kind, active=stage.active,
    )  # fmt: skip


def opportunity_out(row: OpportunityRow) -> OpportunityOut:
    o = row.opportunity
    return OpportunityOut(
        id=o.id, external_ref=o.external_ref, customer_id=o.customer_id, customer_name=row.customer_name,
        title=o.title, amount=o.amount, currency=o.currency, stage_id=o.stage_id, stage=row.stage.name,
        stage_kind=row.stage.kind, probability=o.probability, probability_overridden=o.probability_overridden,
        weighted_amount=row.weighted, expected_close=o.expected_close, owner_rep_id=o.owner_rep_id,
        owner_name=row.owner_name, next_step=o.next_step, lost_reason=o.lost_reason,
        org_unit_id=o.org_unit_id, stage_changed_at=o.stage_changed_at, closed_on=o.closed_on,
        order_id=o.order_id, created_at=o.created_at, updated_at=o.updated_at,
    )  # fmt: skip


def history_out(history: list[Any]) -> list[StageChangeOut]:
    return [
        StageChangeOut(at=c.at, from_stage=before, to_stage=after, by=who, checkin_id=c.checkin_id)
        for c, before, after, who in history
    ]


def sent_fields(data: msgspec.Struct) -> dict[str, Any]:
    """The body's fields that were sent (not msgspec.UNSET)."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


CSV_COLUMNS = (
    "id", "external_ref", "customer_id", "customer_name", "title", "amount", "currency", "stage",
    "stage_kind", "probability", "weighted_amount", "expected_close", "owner_name", "next_step",
    "lost_reason", "stage_changed_at", "closed_on", "order_id",
)  # fmt: skip
