"""The one read at the start of a check-in and of a check-out: everything the rules need, in one
round trip each (built once at import, run with parameters).

Each round trip through the pool costs server CPU (driver, SQLAlchemy, the event loop) as well as
latency, and a visit used to ask for the customer, the company's settings, the rep's previous
fix, the task, the visit policy and the company separately. The company is found with the same
recursive walk up the org tree as `SETTINGS_ABOVE` (statements.py), anchored on the customer's
unit, so the result is the same row those separate reads returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import CTE, Row, Table, bindparam, exists, select, true

from server.core.org import ancestors_cte
from server.db.models import Checkin, Customer, OrgSettings, Task, VisitForm, VisitPolicy

_CUSTOMERS: Table = Customer.__table__
_CHECKINS: Table = Checkin.__table__
_TASKS: Table = Task.__table__
_SETTINGS: Table = OrgSettings.__table__
_C = _CHECKINS.c
CHECKIN_FIELDS = tuple(c.key for c in _C if c.key != "sa_orm_sentinel")


def _company_settings(chain: CTE) -> Any:
    return _SETTINGS.c.company_id.in_(select(chain.c.id))


def _arrival() -> Any:
    """Check-in: the customer (NULL row: none), the company's radius, the rep's previous located
    arrival up to this one, whether an earlier visit of the rep is still open, and the named task."""
    customer_id = bindparam("customer_id", type_=_CUSTOMERS.c.id.type)
    rep_id = bindparam("rep_id", type_=_C.rep_id.type)
    at = bindparam("at", type_=_C.checked_in_at.type)
    unit = select(_CUSTOMERS.c.org_unit_id).where(_CUSTOMERS.c.id == customer_id).scalar_subquery()
    chain = ancestors_cte(unit)
    radius = select(_SETTINGS.c.checkin_radius_m).where(_company_settings(chain)).limit(1).scalar_subquery()
    previous = (  # how fast would the rep have moved since their last located arrival?
        select(_C.lat, _C.lng, _C.checked_in_at)
        .where(_C.rep_id == rep_id, _C.checked_in_at <= at, _C.lat.is_not(None), _C.lng.is_not(None))
        .order_by(_C.checked_in_at.desc())
        .limit(1)
        .subquery("previous")
    )
    earlier_open = exists().where(_C.rep_id == rep_id, _C.checked_out_at.is_(None), _C.checked_in_at <= at)
    task_id = bindparam("task_id", type_=_TASKS.c.id.type)
    c = _CUSTOMERS.c
    return (
        select(
            c.id,
            c.owner_rep_id,
            c.org_unit_id,
            c.lat,
            c.lng,
            radius.label("radius_m"),
            previous.c.lat.label("previous_lat"),
            previous.c.lng.label("previous_lng"),
            previous.c.checked_in_at.label("previous_at"),
            earlier_open.label("earlier_open"),
            _TASKS.c.id.label("task_id"),
            _TASKS.c.rep_id.label("task_rep_id"),
            _TASKS.c.customer_id.label("task_customer_id"),
        )
        .select_from(_CUSTOMERS)
        .outerjoin(previous, true())
        .outerjoin(_TASKS, _TASKS.c.id == task_id)
        .where(c.id == customer_id)
    )


def _visit() -> Any:
    """Check-out: the arrival with what the check-out needs of its customer, of the task it names
    and of the company's settings; the company itself, the visit interval of the customer's grade
    (NULL: the default) and whether the company has any active visit form (most have none: then
    no form is read). Plain columns: loading four entities cost more than the statement."""
    checkin_id = bindparam("checkin_id", type_=_C.id.type)
    unit = (
        select(_CUSTOMERS.c.org_unit_id)
        .join(_CHECKINS, _C.customer_id == _CUSTOMERS.c.id)
        .where(_C.id == checkin_id)
        .scalar_subquery()
    )
    chain = ancestors_cte(unit)
    company = select(chain.c.id).where(chain.c.parent_id.is_(None)).limit(1).scalar_subquery()
    policies = VisitPolicy.__table__.c
    interval = (  # the company's policy for the customer's grade, when it sets days
        select(policies.interval_days)
        .where(
            policies.company_id.in_(select(chain.c.id)),
            policies.grade == _CUSTOMERS.c.grade,
            policies.interval_days.is_not(None),
            policies.interval_days != 0,
        )
        .limit(1)
        .scalar_subquery()
    )
    forms = VisitForm.__table__.c
    has_forms = exists().where(forms.company_id == company, forms.active.is_(True))
    cu, settings, task = _CUSTOMERS.c, _SETTINGS.c, _TASKS.c
    return (
        select(
            *(_C[name] for name in CHECKIN_FIELDS),
            cu.name.label("customer_name"),
            cu.org_unit_id.label("customer_unit_id"),
            cu.grade.label("customer_grade"),
            cu.status.label("customer_status"),
            settings.id.label("settings_id"),
            settings.outcomes,
            settings.order_amount_ceiling,
            task.rep_id.label("task_rep_id"),
            task.status.label("task_status"),
            task.promise_id.label("task_promise_id"),
            company.label("company_id"),
            interval.label("interval"),
            has_forms.label("has_forms"),
        )
        .select_from(_CHECKINS)
        .join(_CUSTOMERS, cu.id == _C.customer_id)
        .outerjoin(_TASKS, task.id == _C.task_id)
        .outerjoin(_SETTINGS, _company_settings(chain))
        .where(_C.id == checkin_id)
    )


@dataclass(frozen=True)
class Visit:
    """A check-out's read, as model objects the rules and the other services take. They are
    never added to the session: everything they hold is stored already."""

    checkin: Checkin
    customer: Customer
    task: Task | None  # the task named at check-in, if it still exists
    settings: OrgSettings | None
    company_id: UUID | None
    policy_days: int | None
    has_forms: bool


def task_of(task_id: UUID, rep_id: UUID, status: str, promise_id: UUID | None) -> Task:
    """What a check-out needs of a task (never added to the session)."""
    return Task(id=task_id, rep_id=rep_id, status=status, promise_id=promise_id)


def visit_of(row: Row[Any]) -> Visit:
    """The VISIT row as the check-out's model objects."""
    checkin = Checkin(**{name: row._mapping[name] for name in CHECKIN_FIELDS})
    customer = Customer(
        id=row.customer_id,
        name=row.customer_name,
        org_unit_id=row.customer_unit_id,
        grade=row.customer_grade,
        status=row.customer_status,
    )
    settings = None
    if row.settings_id is not None:
        settings = OrgSettings(
            id=row.settings_id,
            company_id=row.company_id,
            outcomes=row.outcomes,
            order_amount_ceiling=row.order_amount_ceiling,
        )
    task = None
    if row.task_rep_id is not None:
        task = task_of(row.task_id, row.task_rep_id, row.task_status, row.task_promise_id)
    return Visit(checkin, customer, task, settings, row.company_id, row.interval, bool(row.has_forms))


ARRIVAL = _arrival()
VISIT = _visit()
# A visit at a customer with no task named: today's open visit task of the rep there, if any.
# A snoozed or missed visit that happened after all still counts.
OPEN_STATUSES = ("planned", "snoozed", "missed")
PLANNED_VISIT = (
    select(_TASKS.c.id, _TASKS.c.rep_id, _TASKS.c.status, _TASKS.c.promise_id)
    .where(
        _TASKS.c.rep_id == bindparam("rep_id", type_=_TASKS.c.rep_id.type),
        _TASKS.c.customer_id == bindparam("customer_id", type_=_TASKS.c.customer_id.type),
        _TASKS.c.local_date == bindparam("visit_date", type_=_TASKS.c.local_date.type),
        _TASKS.c.kind == "visit",
        _TASKS.c.status.in_(OPEN_STATUSES),
    )
    .order_by(_TASKS.c.rank.asc().nulls_last())
    .limit(1)
)
