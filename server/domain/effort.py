"""Spending a rep's week the way the company splits effort by grade (DESIGN §5 "Daily task list").

The company splits visits by bucket (default A 40%, B 30%, C 20%, prospects 10%; D accounts
get no share and only take what is left). The split holds over a week, not each day: each
morning's selection knows what the rep's week already holds (visits done on earlier days and
tasks kept on the day) and steers the day's new picks towards the buckets that are behind.
Tolerance: over a rep's week, each bucket's share of the visits stays within
EFFORT_TOLERANCE (5 points) of its split, unless the bucket has too few customers worth a
visit (then its share goes to the others).

Order of the picks (select_for_effort):
1. promises due, manager pins and carry-overs (mandatory, whatever the split);
2. due A customers (the last day that keeps them within their 7 days; `must_visit`), then
   customers with a deal near its close or stale, as long as their bucket stays under its
   ceiling for the week (split + tolerance of the week's expected visits; due A's may go
   DUE_A_ALLOWANCE further, so a week crowded with due A's can end up to 10 points over A);
3. then, one slot at a time, the best *eligible* customer of the bucket least served for its
   share of the week so far (eligible: due, never visited, a deal to move, or at least half its
   interval since the last visit, a prospect after a week; a customer seen yesterday is not
   worth a slot of its grade's share); a bucket with nobody eligible leaves its share to the
   others, in proportion;
4. any slot left by score (only buckets without a share, like D, or customers not eligible).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from server.domain.scoring import BUCKETS, Bucket, ScoredCandidate

DEFAULT_SPLIT: Mapping[Bucket, float] = MappingProxyType({"A": 0.4, "B": 0.3, "C": 0.2, "prospect": 0.1})
EFFORT_TOLERANCE = 0.05  # share points per bucket over a rep's week
# Due A's may take A this much further past its ceiling: a due A left until after the weekend
# falls out of its 7 days, and the simulator showed A compliance drop (99.6% -> 99.3%).
DUE_A_ALLOWANCE = 0.05
ELIGIBLE_FROM = 0.25  # share of its interval after which a customer may take a slot of its bucket
PROSPECT_REVISIT_DAYS = 7  # a prospect may take a prospecting slot again after a week
# Buckets whose due customers are picked first among the due: A accounts are kept weekly.
DEFAULT_MUST_VISIT: tuple[Bucket, ...] = ("A",)
_RANK = attrgetter("rank_key")  # best first
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class WeekSoFar:
    """What the rep's week already holds when the day is planned."""

    visits: Mapping[Bucket, int] = field(default_factory=dict)  # earlier days done + the day's kept tasks
    working_days_left: int = 1  # including the planned day


def validate_split(split: Mapping[Bucket, float] | Mapping[str, float]) -> None:
    """Shares in [0, 1] for known buckets, adding up to at most 1 (the rest goes by score)."""
    _validate_shares(tuple(split.items()))


@lru_cache(maxsize=256)  # the sweep picks every rep's day with one of a few companies' splits
def _validate_shares(items: tuple[tuple[str, float], ...]) -> None:
    shares = {b: Decimal(str(v)) for b, v in items}
    if set(shares) - set(BUCKETS) or any(s < 0 or s > 1 for s in shares.values()):
        raise ValueError(f"effort split must be shares in [0, 1] for buckets {', '.join(BUCKETS)}")
    if sum(shares.values()) > 1:
        raise ValueError("effort split shares must not add up to more than 1")


def working_days_left_in_week(day: date) -> int:
    """Weekdays from `day` to Friday, `day` included (1 on a weekend: the day itself)."""
    return max(1, 5 - day.weekday())


def seen_long_enough_ago(days_since_visit: int, interval_days: int, prospect: bool) -> bool:
    """A quarter of its interval since the last visit, or a week for a prospect."""
    if prospect:
        return days_since_visit >= min(PROSPECT_REVISIT_DAYS, interval_days)
    return days_since_visit >= ELIGIBLE_FROM * interval_days


def eligible(s: ScoredCandidate) -> bool:
    """Worth a slot of its bucket's share: mandatory, due, a deal to move, never visited, a
    quarter of its interval since the last visit, or a prospect not seen for a week."""
    c = s.candidate
    if s.mandatory or s.due or c.deal is not None or c.days_since_visit is None:
        return True
    return seen_long_enough_ago(c.days_since_visit, c.interval_days, c.status == "prospect")


@dataclass(slots=True)
class Contender(Generic[T_co]):
    """What selection reads of one candidate, worked out once, and the candidate (`item`).

    select_for_effort makes these of ScoredCandidates; the planner makes them straight from
    customer rows (server/domain/shortlist.py) and writes Candidates and reasons for its picks only.
    """

    rank_key: tuple[Any, ...]  # best first
    bucket: Bucket
    mandatory: bool
    due: bool
    has_deal: bool
    eligible: bool
    item: T_co


def select_for_effort(
    scored: Sequence[ScoredCandidate],
    capacity: int,
    split: Mapping[Bucket, float] = DEFAULT_SPLIT,
    week: WeekSoFar | None = None,
    tolerance: float = EFFORT_TOLERANCE,
    must_visit: Iterable[Bucket] = DEFAULT_MUST_VISIT,
) -> list[ScoredCandidate]:
    """Pick up to `capacity` candidates (see the module doc); mandatory first, then by score."""
    contenders = [
        Contender(s.rank_key, s.bucket, s.mandatory, s.due, s.candidate.deal is not None, eligible(s), s)
        for s in scored
    ]
    return [c.item for c in pick(contenders, capacity, split, week, tolerance, must_visit)]


def pick(
    contenders: Sequence[Contender[T]],
    capacity: int,
    split: Mapping[Bucket, float] = DEFAULT_SPLIT,
    week: WeekSoFar | None = None,
    tolerance: float = EFFORT_TOLERANCE,
    must_visit: Iterable[Bucket] = DEFAULT_MUST_VISIT,
) -> list[Contender[T]]:
    """select_for_effort over Contenders."""
    if capacity < 0:
        raise ValueError("capacity must be >= 0")
    validate_split(split)
    week = week or WeekSoFar()
    # Every bucket present: a Counter's missing key is a Python call, and min() below asks often.
    counts: dict[str, int] = dict.fromkeys(BUCKETS, 0)
    for bucket, visits in week.visits.items():
        counts[bucket] = visits
    held = sum(counts.values())
    pace_total = held + capacity  # where the week stands once today is done
    week_total = pace_total + capacity * max(0, week.working_days_left - 1)

    def ceiling(bucket: Bucket) -> float:
        return (split.get(bucket, 0.0) + tolerance) * week_total

    ordered = sorted(contenders, key=_RANK)
    chosen: list[Contender[T]] = []
    picked: set[int] = set()

    def take(s: Contender[T]) -> None:
        chosen.append(s)
        picked.add(id(s))
        counts[s.bucket] += 1

    for s in ordered:
        if s.mandatory and len(chosen) < capacity:
            take(s)
    must = frozenset(must_visit)
    urgent = [s for s in ordered if id(s) not in picked and ((s.due and s.bucket in must) or s.has_deal)]
    for s in sorted(urgent, key=lambda s: s.has_deal):  # stable: by score within
        bucket = s.bucket
        limit = ceiling(bucket) + (DUE_A_ALLOWANCE * week_total if s.due and bucket in must else 0)
        if len(chosen) < capacity and counts[bucket] + 1 <= limit:
            take(s)

    pools: dict[Bucket, list[Contender[T]]] = {b: [] for b in BUCKETS}
    for s in ordered:
        if id(s) not in picked and s.eligible:
            pools[s.bucket].append(s)
    for pool in pools.values():
        pool.reverse()  # best last: pop() takes it
    shares = {b: share for b in BUCKETS if (share := split.get(b, 0.0)) > 0}  # a dict: split may be a proxy
    while len(chosen) < capacity:
        # The bucket least served for its share (visits / share, as in D'Hondt's apportionment):
        # a bucket behind on the week catches up first, and the shares of buckets with nobody
        # worth a visit go to the others in proportion to theirs.
        open_buckets = [b for b in shares if pools[b]]
        if not open_buckets:
            break
        bucket = min(open_buckets, key=lambda b: (counts[b] / shares[b], pools[b][-1].rank_key, b))
        take(pools[bucket].pop())

    if len(chosen) < capacity:  # most days are full by now: the rest is not even looked at
        rest = [s for s in ordered if id(s) not in picked]
        rest.sort(key=lambda s: (not s.eligible, counts[s.bucket] + 1 > ceiling(s.bucket)))
        for s in rest[: capacity - len(chosen)]:
            take(s)
    first = [s for s in chosen if s.mandatory]
    return first + sorted((s for s in chosen if not s.mandatory), key=_RANK)
