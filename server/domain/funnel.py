"""The sales funnel: default stages and the funnel's figures, computed from plain rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple


class StageDefault(NamedTuple):
    name: str
    probability: int  # percent
    kind: str  # open | won | lost


# A new company's funnel (editable per company by an admin).
DEFAULT_STAGES: tuple[StageDefault, ...] = (
    StageDefault("Lead", 10, "open"),
    StageDefault("Qualified", 25, "open"),
    StageDefault("Proposal", 50, "open"),
    StageDefault("Negotiation", 75, "open"),
    StageDefault("Won", 100, "won"),
    StageDefault("Lost", 0, "lost"),
)


class Stage(NamedTuple):
    id: Any
    name: str
    position: int
    kind: str


class Deal(NamedTuple):
    id: Any
    stage_id: Any
    amount: Decimal
    probability: int
    expected_close: date | None


class Change(NamedTuple):
    opportunity_id: Any
    from_stage_id: Any  # None: the deal was created at to_stage
    to_stage_id: Any
    at: datetime


@dataclass(frozen=True)
class Conversion:
    from_stage: str
    to_stage: str
    reached: int  # deals that reached from_stage
    converted: int  # of those, deals that reached to_stage or a later one (Won counts)

    @property
    def rate(self) -> float | None:
        return self.converted / self.reached if self.reached else None


@dataclass(frozen=True)
class Funnel:
    """One scope's funnel: movement in [start, end), conversion over the deals' whole history up to
    `end`, and coverage of the remaining gap by open deals expected to close by the plan's end."""

    conversions: list[Conversion]
    days_in_stage: dict[str, float | None]  # mean days of completed stays, by open stage
    entered: int
    advanced: int
    won: int
    lost: int
    open_deals: int
    open_amount: Decimal
    weighted_pipeline: Decimal  # open deals closing in the plan period, amount x probability
    gap: Decimal | None  # remaining revenue to the target (None: no target)

    @property
    def win_rate(self) -> float | None:
        """Won / decided in the period."""
        decided = self.won + self.lost
        return self.won / decided if decided else None

    @property
    def coverage(self) -> float | None:
        """Weighted pipeline / remaining gap (None without a target or when the gap is closed)."""
        if self.gap is None or self.gap <= 0:
            return None
        return float(self.weighted_pipeline / self.gap)


def weighted(amount: Decimal, probability: int) -> Decimal:
    return (amount * probability / 100).quantize(Decimal("0.01"))


def compute_funnel(
    stages: Sequence[Stage],
    deals: Sequence[Deal],
    changes: Sequence[Change],
    start: datetime,
    end: datetime,
    close_from: date,
    close_until: date,
    gap: Decimal | None,
) -> Funnel:
    """The funnel of `deals` (one scope) from their stage changes; changes at or after `end` are
    ignored. Open deals count towards the pipeline when expected to close in [close_from, close_until]."""
    by_id = {s.id: s for s in stages}
    open_stages = sorted((s for s in stages if s.kind == "open"), key=lambda s: s.position)
    rank = {s.id: n for n, s in enumerate(open_stages)}
    won_rank = len(open_stages)  # a won deal passed every open stage
    deal_ids = {d.id for d in deals}
    history: dict[Any, list[Change]] = defaultdict(list)
    for change in changes:
        if change.opportunity_id in deal_ids and change.at < end:
            history[change.opportunity_id].append(change)
    furthest: list[int] = []
    stays: dict[Any, list[float]] = defaultdict(list)
    entered = advanced = won = lost = 0
    for moves in history.values():
        moves.sort(key=lambda c: c.at)
        best = -1
        for n, change in enumerate(moves):
            to = by_id[change.to_stage_id]
            best = max(best, won_rank if to.kind == "won" else rank.get(to.id, -1))
            if n + 1 < len(moves) and to.kind == "open":
                stays[to.id].append((moves[n + 1].at - change.at).total_seconds() / 86400)
            if not start <= change.at < end:
                continue
            before = by_id.get(change.from_stage_id)
            if before is None:
                entered += 1
            elif to.kind == "won":
                won += 1
            elif to.kind == "lost":
                lost += 1
            elif before.kind == "open" and to.kind == "open" and to.position > before.position:
                advanced += 1
        furthest.append(best)
    steps = [*open_stages, *(s for s in stages if s.kind == "won")]
    conversions = [
        Conversion(
            steps[n].name,
            steps[n + 1].name,
            sum(1 for f in furthest if f >= n),
            sum(1 for f in furthest if f >= n + 1),
        )
        for n in range(len(steps) - 1)
    ]
    days = {s.name: (sum(stays[s.id]) / len(stays[s.id]) if stays[s.id] else None) for s in open_stages}
    open_now = [d for d in deals if by_id[d.stage_id].kind == "open"]
    closing = [
        d for d in open_now if d.expected_close is not None and close_from <= d.expected_close <= close_until
    ]
    return Funnel(
        conversions=conversions,
        days_in_stage=days,
        entered=entered,
        advanced=advanced,
        won=won,
        lost=lost,
        open_deals=len(open_now),
        open_amount=sum((d.amount for d in open_now), Decimal(0)),
        weighted_pipeline=sum((weighted(d.amount, d.probability) for d in closing), Decimal(0)),
        gap=gap,
    )
