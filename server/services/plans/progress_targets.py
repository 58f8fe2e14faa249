"""Approved targets for progress questions, each with its scope's home (org unit, time zone):
several questions share one read (ProgressService.for_queries, server/services/plans/progress.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import BindParameter, Text, bindparam, cast, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.org import OrgTree
from server.core.upsert import dialect_of
from server.db.id_lists import fetched_uuid, id_batches, in_ids
from server.db.models import Customer, Target, User
from server.domain.plans import SCOPES

# The longest period of each granularity in days (check_period: a target is at most one
# granularity long), so a target containing as_of starts at most this many days - 1 before it:
# the bound keeps the targets index scan to a rep's current periods, not its whole history.
LONGEST_PERIOD_DAYS = {"week": 7, "month": 31, "quarter": 92, "year": 366}


@dataclass(frozen=True)
class ProgressQuery:
    """One for_scopes question; ProgressService.for_queries answers several sharing one load."""

    scope: str
    scope_ids: Sequence[UUID]
    as_of: date
    metric: str = "revenue"
    granularity: str = "month"


class TargetRow(NamedTuple):
    id: UUID
    scope_id: UUID
    period_start: date
    period_end: date
    amount: Decimal
    weights: str | None  # the stored JSON text: decoded once per distinct document, not per row


@dataclass(frozen=True)
class ScopeHome:
    """Where a scope lives: its org unit (holidays, thresholds) and time zone (visit days)."""

    unit_id: UUID | None
    timezone: str


def _targets_statement(scope: str, postgresql: bool, by_ids: bool) -> Any:
    """Approved targets of `scope` containing :as_of, with each scope's home unit and time zone,
    for the metrics :metrics and granularities :granularities (several questions, one read).

    The scope ids are :ids, bound as one array on PostgreSQL (server/db/id_lists.py); without
    `by_ids`, every scope's (the caller keeps those it asked for).
    """
    home_unit: Any = {"user": User.org_unit_id, "customer": Customer.org_unit_id}.get(scope, Target.scope_id)
    home_unit = fetched_uuid(home_unit, postgresql)
    columns = (
        fetched_uuid(Target.id, postgresql),
        fetched_uuid(Target.scope_id, postgresql),
        Target.period_start,
        Target.period_end,
        Target.amount,
        cast(Target.weights, Text).label("weights"),
        Target.metric,
        Target.granularity,
    )
    if scope == "user":
        query = select(*columns, home_unit.label("home_unit"), User.timezone.label("home_tz"))
        query = query.outerjoin(User, User.id == Target.scope_id)
    else:
        query = select(*columns, home_unit.label("home_unit"), literal(None).label("home_tz"))
        if scope == "customer":
            query = query.outerjoin(Customer, Customer.id == Target.scope_id)
    # Containing a day between :first_as_of and :last_as_of (the caller keeps each question's).
    last_as_of: BindParameter[date] = bindparam("last_as_of")
    if by_ids:
        query = query.where(in_ids(Target.scope_id, "ids", postgresql))
    return query.where(
        Target.scope == scope,
        Target.metric.in_(bindparam("metrics", expanding=True)),
        Target.granularity.in_(bindparam("granularities", expanding=True)),
        Target.status == "approved",
        Target.period_start <= last_as_of,
        Target.period_start >= bindparam("earliest_start"),
        Target.period_end >= bindparam("first_as_of"),
    ).order_by(Target.version, Target.approved_at)  # approval supersedes: should two overlap, the newest wins


# Built once: a call only binds values (building the statement and its cache key per call, with
# every id coerced one by one, cost more than running it).
_TARGETS = {
    (scope, pg, by_ids): _targets_statement(scope, pg, by_ids)
    for scope in SCOPES
    for pg in (False, True)
    for by_ids in (False, True)
}
# Many reps or units asked (a sweep, a company page): reading all of the scope's targets of the
# period and keeping the asked ones beats probing the index once per id (at 10,000 reps 53 ms
# against 157 ms). Not for customers: there may be a million of those.
WHOLE_SCOPES = ("user", "org_unit")
WHOLE_TARGETS_AT = 500


async def targets_of(
    session: AsyncSession, queries: Sequence[ProgressQuery], tree: OrgTree
) -> list[tuple[dict[UUID, TargetRow], dict[UUID, ScopeHome]]]:
    """Each question's approved targets and homes. Questions about the same scopes and day
    (the sweep's metrics and granularities) share one read by id; when many reps or units
    are asked, every question of that scope shares one read of all its targets."""
    # (Counted with repeats: hashing 10,000 UUIDs per question to count them costs more.)
    per_scope: dict[str, int] = defaultdict(int)
    for q in queries:
        per_scope[q.scope] += len(q.scope_ids)
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for index, q in enumerate(queries):
        if q.scope in WHOLE_SCOPES and per_scope[q.scope] >= WHOLE_TARGETS_AT:
            groups[(q.scope,)].append(index)
        else:
            groups[q.scope, q.as_of, tuple(dict.fromkeys(q.scope_ids))].append(index)
    answers: list[tuple[dict[UUID, TargetRow], dict[UUID, ScopeHome]]] = [({}, {}) for _ in queries]
    shared_homes: dict[tuple[UUID | None, str], ScopeHome] = {}  # reps share units and zones
    for key, indexes in groups.items():
        by_id = None if len(key) == 1 else list(key[2])
        await _approved_targets(
            session,
            key[0],
            by_id,
            [(i, queries[i], queries[i].scope_ids) for i in indexes],
            answers,
            shared_homes,
            tree,
        )
    return answers


async def _approved_targets(
    session: AsyncSession,
    scope: str,
    ids: list[UUID] | None,
    questions: list[tuple[int, ProgressQuery, Sequence[UUID]]],
    answers: list[tuple[dict[UUID, TargetRow], dict[UUID, ScopeHome]]],
    shared_homes: dict[tuple[UUID | None, str], ScopeHome],
    tree: OrgTree,
) -> None:
    """Into answers[i], for each question i: the approved targets containing its as_of, and
    each scope's home (joined, not re-queried). `ids` None: every target of the scope read."""
    reach = {
        q.granularity: timedelta(days=LONGEST_PERIOD_DAYS[q.granularity] - 1) for _i, q, _ids in questions
    }
    params: dict[str, Any] = {
        "metrics": sorted({q.metric for _i, q, _ids in questions}),
        "granularities": sorted(reach),
        "first_as_of": min(q.as_of for _i, q, _ids in questions),
        "last_as_of": max(q.as_of for _i, q, _ids in questions),
        "earliest_start": min(q.as_of - reach[q.granularity] for _i, q, _ids in questions),
    }
    # Who asks for each (scope, metric, granularity): the question, its day, and how far back
    # a target containing that day may start. One question needs no such index (_one_question).
    asking: dict[tuple[UUID, str, str], list[tuple[int, date, date]]] = defaultdict(list)
    for i, q, q_ids in questions if len(questions) > 1 else ():
        asker = (i, q.as_of, q.as_of - reach[q.granularity])
        for scope_id in q_ids:
            asking[scope_id, q.metric, q.granularity].append(asker)
    postgresql = dialect_of(session) == "postgresql"
    statement = _TARGETS[scope, postgresql, ids is not None]
    batches = [params] if ids is None else [{**params, "ids": part} for part in id_batches(ids, postgresql)]
    # On the session's connection: plain rows, without the ORM's per-row result handling.
    connection = await session.connection()
    homes_by: dict[tuple[UUID | None, str | None], ScopeHome] = {}

    def home_of(unit: UUID | None, timezone: str | None) -> ScopeHome:
        found = homes_by.get((unit, timezone))
        if found is None:
            zone = timezone or tree.timezone(unit)
            found = shared_homes.get((unit, zone))
            if found is None:
                found = shared_homes[unit, zone] = ScopeHome(unit, zone)
            homes_by[unit, timezone] = found
        return found

    for values in batches:
        # .all(): one fetch, not the async adapter's fetchone per row.
        rows = (await connection.execute(statement, values)).all()
        if len(questions) == 1:  # the statement's bounds are the question's: only the ids to keep
            _one_question(rows, questions[0], answers, home_of)
            continue
        for row in rows:
            scope_id, start, end = row[1], row[2], row[3]
            home, target = None, None
            for i, as_of, earliest in asking.get((scope_id, row[6], row[7]), ()):
                if not start <= as_of <= end or start < earliest:
                    continue  # another question's day, or longer ago than its granularity reaches
                if home is None or target is None:
                    home, target = home_of(row[8], row[9]), TargetRow(*row[:6])
                targets, homes = answers[i]
                targets[scope_id] = target
                homes[scope_id] = home


def _one_question(
    rows: Sequence[Any],
    question: tuple[int, ProgressQuery, Sequence[UUID]],
    answers: list[tuple[dict[UUID, TargetRow], dict[UUID, ScopeHome]]],
    home_of: Callable[[UUID | None, str | None], ScopeHome],
) -> None:
    """The rows of a read asked by one question: the statement bounded them by its metric,
    granularity and day, so a row is the question's when its scope was asked (10,000 rows of a
    sweep: no per-row match against every question)."""
    i, _query, ids = question
    asked = ids if isinstance(ids, (set, frozenset)) else set(ids)
    targets, homes = answers[i]
    for row in rows:
        scope_id = row[1]
        if scope_id in asked:  # ordered by approval: the newest of two overlapping wins
            targets[scope_id] = TargetRow._make(row[:6])
            homes[scope_id] = home_of(row[8], row[9])
