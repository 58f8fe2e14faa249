"""The one read at the start of a check-in and of a check-out: everything the rules need, in one
round trip each (built once at import, run with parameters).

Each round trip through the pool costs server CPU (driver, SQLAlchemy, the event loop) as well as
latency, and a visit used to ask for the customer, the company's settings, the rep's previous
fix, the task, the visit policy and the company separately. The company is found with the same
recursive walk up the org tree as `SETTINGS_ABOVE` (statements.py), anchored on the customer's
unit, so the result is the same row those separate reads returned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CTE, Table, bindparam, exists, select, true

from server.core.org import ancestors_cte
from server.db.models import Checkin, Customer, OrgSettings, Task, VisitForm, VisitPolicy

_CUSTOMERS: Table = Customer.__table__
_CHECKINS: Table = Checkin.__table__
_TASKS: Table = Task.__table__
_C = _CHECKINS.c


def _company_settings(chain: CTE) -> Any:
    return OrgSettings.__table__.c.company_id.in_(select(chain.c.id))


def _arrival() -> Any:
    """Check-in: the customer (NULL row: none), the company's radius, the rep's previous located
    arrival up to this one, whether an earlier visit of the rep is still open, and the named task."""
    customer_id = bindparam("customer_id", type_=_CUSTOMERS.c.id.type)
    rep_id = bindparam("rep_id", type_=_C.rep_id.type)
    at = bindparam("at", type_=_C.checked_in_at.type)
    unit = select(_CUSTOMERS.c.org_unit_id).where(_CUSTOMERS.c.id == customer_id).scalar_subquery()
    chain = ancestors_cte(unit)
    radius = (
        select(OrgSettings.__table__.c.checkin_radius_m)
        .where(_company_settings(chain))
        .limit(1)
        .scalar_subquery()
    )
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
    """Check-out: the arrival with its customer, the task it names, the company's settings, the
    company itself, the visit interval of the customer's grade (NULL: the default) and whether
    the company has any active visit form (most have none: then no form is read)."""
    checkin_id = bindparam("checkin_id", type_=_C.id.type)
    unit = (
        select(_CUSTOMERS.c.org_unit_id)
        .join(_CHECKINS, _C.customer_id == _CUSTOMERS.c.id)
        .where(_C.id == checkin_id)
        .scalar_subquery()
    )
    chain = ancestors_cte(unit)
    company = select(chain.c.id).where(chain.c.parent_id.is_(None)).limit(1).scalar_subquery()
    interval = (  # as CheckinReads._interval: the company's policy for the grade, when it sets days
        select(VisitPolicy.interval_days)
        .where(
            VisitPolicy.company_id.in_(select(chain.c.id)),
            VisitPolicy.grade == Customer.grade,
            VisitPolicy.interval_days.is_not(None),
            VisitPolicy.interval_days != 0,
        )
        .limit(1)
        .scalar_subquery()
    )
    has_forms = exists().where(VisitForm.company_id == company, VisitForm.active.is_(True))
    return (
        select(
            Checkin,
            Customer,
            Task,
            OrgSettings,
            company.label("company_id"),
            interval.label("interval"),
            has_forms.label("has_forms"),
        )
        .join(Customer, Customer.id == Checkin.customer_id)
        .outerjoin(Task, Task.id == Checkin.task_id)
        .outerjoin(OrgSettings, _company_settings(chain))
        .where(Checkin.id == checkin_id)
    )


ARRIVAL = _arrival()
VISIT = _visit()
# A visit at a customer with no task named: today's open visit task of the rep there, if any.
OPEN_STATUSES = ("planned", "snoozed", "missed")
PLANNED_VISIT = (
    select(Task)
    .where(
        Task.rep_id == bindparam("rep_id", type_=_TASKS.c.rep_id.type),
        Task.customer_id == bindparam("customer_id", type_=_TASKS.c.customer_id.type),
        Task.local_date == bindparam("visit_date", type_=_TASKS.c.local_date.type),
        Task.kind == "visit",
        Task.status.in_(OPEN_STATUSES),
    )
    .order_by(Task.rank.asc().nulls_last())
    .limit(1)
)
