"""The synthetic world the simulated reps work in: what customers do, hidden from every planner.

Nothing here is read by the product. The planner sees only what the database shows it (grades,
visits, orders); the world decides, behind its back, whether a visited customer orders, how much,
and which orders arrive without a visit. docs/simulation.md states every assumption.

Randomness is keyed, not streamed: every draw is a hash of (seed, concern, customer, date), so
"is customer X available on day D" has the same answer whichever planner sent the rep there, and
one planner visiting more customers never shifts the luck of another customer (common random
numbers: the planners are compared on the same luck).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist
from types import MappingProxyType
from typing import Any
from uuid import UUID

_NORMAL = NormalDist()
CENT = Decimal("0.01")


@dataclass(frozen=True)
class WorldParams:
    """The world's assumptions (docs/simulation.md, "The world"). Fixed before any planner ran."""

    speed_kmh: float = 30.0  # straight-line (haversine) travel speed
    visit_minutes: int = 30
    day_start_hour: float = 8.5  # 08:30 local
    day_hours: float = 8.0
    absence_rate: float = 0.03  # a rep is off on ~3% of working days
    not_available_rate: float = 0.10  # the customer cannot see the rep
    # Highest chance that a customer who is met orders, by the tier it had when the quarter began.
    p_max: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"A": 0.9, "B": 0.8, "C": 0.7, "D": 0.5, "prospect": 0.2})
    )
    follow_up_rate: float = 0.30  # met, no order: asks for a follow-up (a promise) this often
    follow_up_days: tuple[int, int] = (2, 7)  # the promise falls due this many days later
    warm_days: int = 7  # a follow-up keeps the customer warm until the promise date + this
    warm_floor: float = 0.6  # a warm customer orders with at least this share of p_max
    unvisited_share: float = 0.30  # share of a well-served customer's demand that comes unvisited
    churn_after_cycles: float = 2.0  # unvisited orders start to fade after this many cycles unmet
    churn_halving_cycles: float = 1.0  # ... and halve with every further cycle
    min_cycle_days: float = 5.0
    max_cycle_days: float = 180.0
    no_history_cycle_days: float = 120.0  # dormant customers and prospects
    amount_noise: float = 0.15  # lognormal sigma around a historical order amount

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Picklable (a mappingproxy is not), so worker processes can get the world's rules."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["p_max"] = dict(self.p_max)
        return (_world_params, (values,))


def _world_params(values: dict[str, Any]) -> WorldParams:
    return WorldParams(**{**values, "p_max": MappingProxyType(values["p_max"])})


DEFAULT_PARAMS = WorldParams()


@dataclass(frozen=True)
class CustomerTruth:
    """What the world knows about a customer and the product does not."""

    id: UUID
    rep_id: UUID
    tier: str  # A|B|C|D (grade when the quarter began) or "prospect"
    cycle_days: float  # natural order interval
    amounts: tuple[Decimal, ...]  # its order amounts of the last 365 days
    typical_amount: Decimal  # for customers without history
    lat: float | None  # as stored: a customer may have no coordinates
    lng: float | None


@dataclass
class CustomerState:
    last_met: date | None  # last visit at which the customer was there
    last_order: date | None
    warm_until: date | None = None


@dataclass(frozen=True)
class VisitOutcome:
    outcome: str  # order | follow_up | no_decision | not_available
    amount: Decimal | None = None
    next_step_due: date | None = None


class Draws:
    """Uniform draws keyed by (concern, key...): the same key gives the same number, always."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def uniform(self, concern: str, *key: object) -> float:
        text = "|".join((str(self.seed), concern, *(str(k) for k in key)))
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        return (int.from_bytes(digest, "big") + 0.5) / 2**64  # in (0, 1), never 0 or 1

    def normal(self, concern: str, *key: object) -> float:
        return _NORMAL.inv_cdf(self.uniform(concern, *key))


def cycle_from_history(orders_365: int, params: WorldParams = DEFAULT_PARAMS) -> float:
    """A customer's natural order interval: 365 days / orders in the last 365 days, bounded."""
    if orders_365 <= 0:
        return params.no_history_cycle_days
    return min(params.max_cycle_days, max(params.min_cycle_days, 365.0 / orders_365))


def typical_amount(potential: Decimal | None) -> Decimal:
    """The seed's order size for a customer of this potential (seed: 300 x size^0.55)."""
    size = float(potential or 4000) / 4000
    return Decimal(str(round(300 * max(size, 0.25) ** 0.55, 2)))


class World:
    """Customers' hidden behaviour and state, advanced by visits and by days passing."""

    def __init__(
        self,
        customers: Iterable[CustomerTruth],
        states: Mapping[UUID, CustomerState],
        seed: int,
        params: WorldParams = DEFAULT_PARAMS,
    ) -> None:
        self.customers = {c.id: c for c in customers}
        self.state = {cid: CustomerState(s.last_met, s.last_order, s.warm_until) for cid, s in states.items()}
        self.draws = Draws(seed)
        self.params = params

    # ---- the rules ----

    def _since(self, state: CustomerState, day: date) -> float | None:
        """Days since demand was last met: the later of the last meeting and the last order."""
        last = max((d for d in (state.last_met, state.last_order) if d is not None), default=None)
        return None if last is None else float((day - last).days)

    def p_order(self, customer_id: UUID, day: date) -> float:
        """Chance that the customer, met on `day`, orders: p_max(tier) x min(1, since / cycle)."""
        truth, state = self.customers[customer_id], self.state[customer_id]
        p_max = self.params.p_max[truth.tier]
        since = self._since(state, day)
        ramp = 1.0 if since is None else min(1.0, since / truth.cycle_days)
        p = p_max * ramp
        if state.warm_until is not None and day <= state.warm_until:
            p = max(p, p_max * self.params.warm_floor)
        return p

    def unvisited_rate(self, customer_id: UUID, day: date) -> float:
        """Daily chance of an order that arrives without a visit; fades when the customer is neglected."""
        truth, state = self.customers[customer_id], self.state[customer_id]
        if state.last_order is None:
            return 0.0  # prospects and dormant accounts only start through a visit
        since = self._since(state, day) or 0.0
        ramp = min(1.0, since / truth.cycle_days)
        unmet = (day - state.last_met).days if state.last_met else 10 * truth.cycle_days
        overdue_cycles = unmet / truth.cycle_days - self.params.churn_after_cycles
        churn = 0.5 ** (max(0.0, overdue_cycles) / self.params.churn_halving_cycles)
        return self.params.unvisited_share / truth.cycle_days * ramp * churn

    def amount(self, customer_id: UUID, day: date, channel: str) -> Decimal:
        """One of the customer's historical order amounts, with lognormal noise; cents."""
        truth = self.customers[customer_id]
        if truth.amounts:
            pick = int(self.draws.uniform("amount-pick", channel, customer_id, day) * len(truth.amounts))
            base = truth.amounts[min(pick, len(truth.amounts) - 1)]
        else:
            base = truth.typical_amount
        noise = math.exp(
            self.params.amount_noise * self.draws.normal("amount-noise", channel, customer_id, day)
        )
        return max(Decimal("1.00"), (base * Decimal(str(noise))).quantize(CENT, ROUND_HALF_UP))

    # ---- events ----

    def visit(self, customer_id: UUID, day: date) -> VisitOutcome:
        """The outcome of a visit on `day`, and the customer's state after it."""
        state = self.state[customer_id]
        if self.draws.uniform("available", customer_id, day) < self.params.not_available_rate:
            return VisitOutcome("not_available")
        p = self.p_order(customer_id, day)
        state.last_met = day
        if self.draws.uniform("order", customer_id, day) < p:
            state.last_order, state.warm_until = day, None
            return VisitOutcome("order", self.amount(customer_id, day, "visit"))
        if self.draws.uniform("follow-up", customer_id, day) < self.params.follow_up_rate:
            low, high = self.params.follow_up_days
            offset = low + int(self.draws.uniform("follow-up-days", customer_id, day) * (high - low + 1))
            due = day + timedelta(days=min(offset, high))
            state.warm_until = due + timedelta(days=self.params.warm_days)
            return VisitOutcome("follow_up", next_step_due=due)
        return VisitOutcome("no_decision")

    def unvisited_orders(self, customer_ids: Iterable[UUID], day: date) -> list[tuple[UUID, Decimal]]:
        """Orders placed on `day` without a visit (phone, e-mail, web shop), in the given order."""
        placed = []
        for customer_id in customer_ids:
            rate = self.unvisited_rate(customer_id, day)
            if rate > 0 and self.draws.uniform("unvisited", customer_id, day) < rate:
                self.state[customer_id].last_order = day
                placed.append((customer_id, self.amount(customer_id, day, "unvisited")))
        return placed

    def absent(self, rep_id: UUID, day: date) -> bool:
        return self.draws.uniform("absence", rep_id, day) < self.params.absence_rate

    def gps_jitter(self, checkin_key: object) -> tuple[float, float]:
        """A phone fix ~15 m around the door, in degrees."""
        return (
            self.draws.normal("gps-lat", checkin_key) * 0.00014,
            self.draws.normal("gps-lng", checkin_key) * 0.00014,
        )

    def travel_minutes(self, metres: float) -> float:
        return metres / 1000 / self.params.speed_kmh * 60
