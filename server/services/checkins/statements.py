"""The hot statements of a visit, built once at import.

On SQLite, building a statement and running it through the ORM costs more than running it, so
check-in and check-out run these plain-table (Core) statements with parameters.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, Table, bindparam, case, insert, or_, select, update

from server.core.org import ancestors_cte
from server.core.upsert import insert_or_skip
from server.db.models import Checkin, Customer, Order, OrgSettings, OrgUnit, Promise, Task

_CUSTOMERS: Table = Customer.__table__
_CHECKINS: Table = Checkin.__table__
_TASKS: Table = Task.__table__


def _visit_dates_update(with_order: bool) -> Any:
    """The customer's visit (and order) dates after a check-out; built once, run with parameters.

    Check-outs replayed out of order must not move the dates backwards, hence the CASEs
    (evaluated in the database, so two concurrent check-outs cannot lose one another).
    """
    c = _CUSTOMERS.c
    visit = bindparam("visit_date", type_=c.last_visit_on.type)
    newer_visit = or_(c.last_visit_on.is_(None), c.last_visit_on <= visit)
    values: dict[str, Any] = {
        "last_visit_on": case((newer_visit, visit), else_=c.last_visit_on),
        "next_visit_due": case(
            (newer_visit, bindparam("next_due", type_=c.next_visit_due.type)), else_=c.next_visit_due
        ),
        "updated_at": bindparam("now", type_=c.updated_at.type),
    }
    if with_order:
        ordered = bindparam("ordered_on", type_=c.last_order_on.type)
        newer_order = or_(c.last_order_on.is_(None), c.last_order_on < ordered)
        values["last_order_on"] = case((newer_order, ordered), else_=c.last_order_on)
    return update(_CUSTOMERS).where(c.id == bindparam("customer_id", type_=c.id.type)).values(**values)


# The hot statements of a visit, built once: on SQLite, building a statement and running it
# through the ORM cost more than running it. Plain-table (Core) statements where no entity is
# needed back.
VISIT_DATES = {False: _visit_dates_update(False), True: _visit_dates_update(True)}


def _next_arrival(column: str) -> Any:
    """The rep's first arrival after this one (by the time, then the id), if the server has one:
    a check-in older than one already recorded is closed at that arrival, in its INSERT."""
    c = _CHECKINS.c
    return (
        select(c[column])
        .where(
            c.rep_id == bindparam("visit_rep", type_=c.rep_id.type),
            c.id != bindparam("visit_id", type_=c.id.type),
            c.checked_in_at > bindparam("visit_at", type_=c.checked_in_at.type),
        )
        .order_by(c.checked_in_at, c.id)
        .limit(1)
        .scalar_subquery()
    )


# On the plain table: the ORM's bulk-insert path and an entity built from RETURNING cost more than
# the INSERT itself. Only what the database decided comes back; the service knows the rest.
INSERT_ONCE = {
    postgres: insert_or_skip("postgresql" if postgres else "sqlite", _CHECKINS, ["id"])
    .values(checked_out_at=_next_arrival("checked_in_at"), closed_by_checkin_id=_next_arrival("id"))
    .returning(_CHECKINS.c.checked_out_at, _CHECKINS.c.closed_by_checkin_id)
    for postgres in (False, True)
}
INSERT_ORDER = insert(Order.__table__)
INSERT_PROMISE = insert(Promise.__table__)
TASK_DONE = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task_id", type_=_TASKS.c.id.type))
    .values(
        {
            name: bindparam(name, type_=_TASKS.c[name].type)
            for name in ("status", "checkin_id", "status_changed_at", "updated_at")
        }
    )
)
_CHECKOUT_COLUMNS = (
    "checked_out_at", "checkout_received_at", "checkout_hash", "outcome", "order_amount", "notes",
    "next_step", "next_step_due", "extra", "task_id",
)  # fmt: skip
CLAIM_CHECKOUT = (  # only the first writer's UPDATE matches (checkout_hash still NULL)
    update(_CHECKINS)
    .where(
        _CHECKINS.c.id == bindparam("checkin_id", type_=_CHECKINS.c.id.type),
        _CHECKINS.c.checkout_hash.is_(None),
    )
    .values({name: bindparam(name, type_=_CHECKINS.c[name].type) for name in _CHECKOUT_COLUMNS})
    .returning(_CHECKINS.c.id)
)


INSERT_TASK = insert(_TASKS)  # a walk-in visit's task
_P = Promise.__table__.c
PROMISE_DONE = (  # a visit that keeps a promise closes it
    update(Promise.__table__)
    .where(_P.id == bindparam("promise_id", type_=_P.id.type), _P.status == "open")
    .values(status="done", done_at=bindparam("done_at", type_=_P.done_at.type))
)
_C = _CHECKINS.c
CLOSE_EARLIER_OPEN = (  # the rep's other open visits that began before this arrival
    update(_CHECKINS)
    .where(
        _C.rep_id == bindparam("visit_rep", type_=_C.rep_id.type),
        _C.id != bindparam("visit_id", type_=_C.id.type),
        _C.checked_out_at.is_(None),
        _C.checked_in_at <= bindparam("visit_at", type_=_C.checked_in_at.type),
    )
    .values(
        checked_out_at=bindparam("visit_at", type_=_C.checked_out_at.type),
        closed_by_checkin_id=bindparam("visit_id", type_=_C.id.type),
    )
)


def _company_chain() -> Select[tuple[UUID]]:
    """The unit (bound as :unit_id) and its ancestors: only the company among them has settings
    and policies."""
    chain = ancestors_cte(bindparam("unit_id", type_=OrgUnit.__table__.c.id.type))
    return select(chain.c.id)


# Built once: a recursive CTE costs more to build than to run.
SETTINGS_ABOVE = select(OrgSettings).where(OrgSettings.company_id.in_(_company_chain()))
