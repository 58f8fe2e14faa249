"""What composing a rep's day reads: the rep, their customers, promises and tasks, as plain rows
or as shapes (Protocols) that the planner's Task and Promise objects fit. Pure data, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from server.domain.routing import LatLng


@dataclass(frozen=True)
class RepRow:
    id: UUID
    timezone: str
    org_unit_id: UUID | None
    start_lat: float | None
    start_lng: float | None
    daily_capacity: int
    locale: str | None

    @property
    def start(self) -> LatLng | None:
        if self.start_lat is None or self.start_lng is None:
            return None
        return (self.start_lat, self.start_lng)


@dataclass(slots=True)
class CustomerRow:
    """A customer with the aggregate of its orders over the last 365 days.

    Read only; not frozen because the sweep builds one per candidate (see Candidate).
    """

    id: UUID
    owner_rep_id: UUID
    grade: str
    status: str
    lat: float | None
    lng: float | None
    last_visit_on: date | None
    next_visit_due: date | None
    last_order_on: date | None
    orders: int | None
    revenue: Decimal | None
    first_on: date | None
    last_on: date | None
    r_score: int | None = None
    f_score: int | None = None
    m_score: int | None = None


class PromiseLike(Protocol):
    """What composing reads of an open promise."""

    @property
    def id(self) -> UUID: ...

    @property
    def text(self) -> str: ...


class PastTaskLike(Protocol):
    """What composing reads of an earlier task."""

    @property
    def id(self) -> UUID: ...

    @property
    def customer_id(self) -> UUID | None: ...

    @property
    def local_date(self) -> date: ...

    @property
    def status(self) -> str: ...

    @property
    def carried_from_id(self) -> UUID | None: ...

    @property
    def kind(self) -> str: ...

    @property
    def title(self) -> str | None: ...

    @property
    def promise_id(self) -> UUID | None: ...


class DayTask(Protocol):
    """A task already on the day: read, and re-scored, ranked and routed in place."""

    id: UUID
    customer_id: UUID | None
    local_date: date
    status: str
    source: str
    carried_from_id: UUID | None
    kind: str
    title: str | None
    promise_id: UUID | None
    score: float
    reasons: list[dict[str, Any]]
    rank: int | None
    route_order: int | None
    distance_m: float | None


class OpenDeal(NamedTuple):
    """An open opportunity of a rep's customer, with its stage's last change."""

    customer_id: UUID
    title: str
    stage: str
    amount: Decimal
    probability: Decimal  # 0-1
    expected_close_on: date | None
    last_step_on: date  # the day of its last stage change (or its creation)


class PromiseRow(NamedTuple):
    """What composing reads of an open promise: a plain row rather than a Promise object."""

    id: UUID
    text: str


class PastTask(NamedTuple):
    """An earlier task as a plain row: cheaper to load than a Task and never written back."""

    id: UUID
    customer_id: UUID | None
    local_date: date
    status: str
    carried_from_id: UUID | None
    kind: str
    title: str | None
    promise_id: UUID | None


@dataclass
class RepDayInputs:
    customers: list[CustomerRow] = field(default_factory=list)
    # earliest open promise per customer
    promises: dict[UUID, PromiseLike] = field(default_factory=dict)
    day_tasks: list[DayTask] = field(default_factory=list)  # tasks already on the day
    past_tasks: list[PastTaskLike] = field(default_factory=list)  # recent missed tasks and carried copies
    remaining_gap: Decimal = Decimal(0)
    coords: dict[UUID, LatLng] = field(default_factory=dict)  # customers of day tasks
    # completed visits of the week's earlier days by bucket ("A".."D", "prospect")
    week_visits: dict[str, int] = field(default_factory=dict)
    deals: dict[UUID, list[OpenDeal]] = field(default_factory=dict)  # open opportunities by customer


class CustomersById:
    """A rep's customers by id (the last row of an id wins, in the order its id came first).

    Keyed by the ids' ints: a UUID's hash is a Python call (~0.25 µs), and composing a day looks
    up every customer of the rep.
    """

    __slots__ = ("_rows",)

    def __init__(self, rows: Iterable[CustomerRow]) -> None:
        self._rows = {row.id.int: row for row in rows}

    def get(self, customer_id: UUID | None) -> CustomerRow | None:
        return self._rows.get(customer_id.int) if customer_id is not None else None

    def values(self) -> Iterable[CustomerRow]:
        return self._rows.values()
