"""Visit check-in and check-out: accepted once per client UUID, GPS-checked, feeding the plan.

The phone may send the same request many times (offline outbox replays, lost responses), so both
writes are idempotent: a canonical hash of the body is stored, a replay returns the stored record
and a different body under the same id is a 409. Races are settled by the database itself
(INSERT ... ON CONFLICT DO NOTHING and a conditional UPDATE), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Select, Table, bindparam, case, insert, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.errors import ProblemError, not_found
from server.core.org import ancestors_cte
from server.core.services import Service
from server.core.upsert import insert_or_skip
from server.db.models import Checkin, Customer, Order, OrgSettings, OrgUnit, Promise, Task, VisitPolicy
from server.domain.calendar import local_date
from server.domain.checkin import (
    DEFAULT_OUTCOMES,
    CheckinIn,
    CheckoutIn,
    body_hash,
    canonical_body,
    changed_fields,
    checkin_problems,
    checkout_problems,
)
from server.domain.geo import DEFAULT_RADIUS_M, Fix, geo_status, implausible_flags
from server.domain.policy import DEFAULT_VISIT_INTERVALS, next_due
from server.domain.routing import haversine_m

log = structlog.get_logger("fieldsales.checkins")

DEFAULT_INTERVALS: dict[str, int] = {grade: days for grade, days in DEFAULT_VISIT_INTERVALS.items()}
# Tasks a visit can complete: a snoozed or missed visit that happened after all still counts.
OPEN_TASK_STATUSES = ("planned", "snoozed", "missed")


@dataclass(frozen=True)
class CheckinRecord:
    checkin: Checkin
    order_id: UUID | None = None
    promise_id: UUID | None = None


def _reject(problems: list[dict[str, str]]) -> ProblemError:
    fields = ", ".join(p["field"] for p in problems)
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return ProblemError(422, detail or f"Invalid {fields}", problems)


def _conflict(what: str, fields: list[str]) -> ProblemError:
    detail = f"{what} was already recorded with different data ({', '.join(fields)})."
    errors = [{"field": f, "message": "differs from the request already accepted"} for f in fields]
    return ProblemError(409, detail, errors, conflicting_fields=fields)


class CheckinsService(Service):
    """Use cases of the check-in area; the caller owns the transaction."""

    async def check_in(self, rep: Principal, scope: Scope, body: CheckinIn) -> tuple[CheckinRecord, bool]:
        """Record an arrival; (record, created). A replay returns the stored record unchanged."""
        received_at = self.clock.now()
        plain = canonical_body(body)
        digest = body_hash(plain)
        # A replay is answered before any rule: a week-old request accepted then is fine now,
        # and so is one whose customer has moved to another rep since. The stored arrival is
        # looked up only when a rule fails or the INSERT below finds the id taken, so a new
        # arrival (the usual case) costs no extra query.
        try:
            if problems := checkin_problems(body, received_at):
                raise _reject(problems)
            customer = await self.customer_in_scope(scope, body.customer_id)
            if body.task_id is not None:
                await self.task_for_visit(rep, body.task_id, body.customer_id)
        except ProblemError:
            existing = await self.session.get(Checkin, body.id)
            if existing is not None:
                return self._replayed_checkin(existing, rep, plain, digest), False
            raise
        settings = await self.org_settings(customer.org_unit_id)
        radius = float(settings.checkin_radius_m) if settings else DEFAULT_RADIUS_M
        distance, flags = await self._distance_and_flags(rep.id, customer, body)
        values = {
            "id": body.id,
            "rep_id": rep.id,
            "customer_id": customer.id,
            "task_id": body.task_id,
            "checked_in_at": body.checked_in_at.astimezone(UTC),
            "received_at": received_at,
            "lat": body.lat,
            "lng": body.lng,
            "accuracy_m": body.accuracy_m,
            "distance_m": distance,
            "geo_status": geo_status(distance, body.accuracy_m, radius),
            "flags": flags,
            "request_hash": digest,
            "extra": {"request": plain},
        }
        # A concurrent identical request may commit first: then nothing is inserted and we answer
        # as a replay. PostgreSQL makes this INSERT wait for the other transaction to finish.
        checkin = await self.session.scalar(
            _INSERT_ONCE[self.session.get_bind().dialect.name == "postgresql"],
            values,
            execution_options={"populate_existing": True},
        )
        if checkin is None:
            winner = await self.session.get(Checkin, body.id, populate_existing=True)
            assert winner is not None  # the conflicting row is committed, hence visible
            return self._replayed_checkin(winner, rep, plain, digest), False
        log.info(
            "checkin_recorded",
            checkin_id=str(body.id),
            rep_id=str(rep.id),
            geo_status=checkin.geo_status,
            distance_m=distance,
            flags=flags,
        )
        return CheckinRecord(checkin), True

    def _replayed_checkin(
        self, stored: Checkin, rep: Principal, plain: dict[str, Any], digest: str
    ) -> CheckinRecord:
        if stored.rep_id != rep.id:
            raise ProblemError(
                409,
                f"Check-in id {stored.id} is already in use; generate a new id.",
                [{"field": "id", "message": "already in use"}],
            )
        if stored.request_hash != digest:
            raise _conflict(f"Check-in {stored.id}", changed_fields(stored.extra.get("request"), plain))
        return CheckinRecord(stored)

    async def _distance_and_flags(
        self, rep_id: UUID, customer: Customer, body: CheckinIn
    ) -> tuple[float | None, list[str]]:
        if body.lat is None or body.lng is None:
            return None, []
        flags: list[str] = []
        distance = None
        if customer.lat is None or customer.lng is None:
            flags.append("customer_not_located")  # no_fix would otherwise look like the phone's fault
        else:
            distance = haversine_m(customer.lat, customer.lng, body.lat, body.lng)
        previous = await self.session.execute(
            _PREVIOUS_FIX, {"rep_id": rep_id, "at": body.checked_in_at.astimezone(UTC)}
        )
        row = previous.first()
        fix = Fix(row.lat, row.lng, row.checked_in_at) if row else None
        flags += implausible_flags(body.accuracy_m, fix, Fix(body.lat, body.lng, body.checked_in_at))
        return distance, flags

    async def check_out(
        self, rep: Principal, checkin_id: UUID, body: CheckoutIn
    ) -> tuple[CheckinRecord, bool]:
        """Record the outcome and, in the same transaction, the order, the promise, the completed
        task and the customer's visit dates; (record, first_time)."""
        received_at = self.clock.now()
        plain = canonical_body(body)
        digest = body_hash(plain)
        # By primary key: the arrival and its customer are usually in this session already. A
        # stale copy is harmless: the conditional UPDATE below is what settles a race.
        checkin = await self.session.get(Checkin, checkin_id)
        if checkin is None or checkin.rep_id != rep.id:
            raise not_found("Check-in", checkin_id, "checkin_id")
        customer = await self.customer(checkin.customer_id)
        if checkin.checkout_hash is not None:
            return await self._replayed_checkout(checkin, plain, digest), False
        settings = await self.org_settings(customer.org_unit_id)
        visit_date = local_date(checkin.checked_in_at, rep.timezone)
        outcomes = _outcomes(settings)
        if problems := checkout_problems(body, checkin.checked_in_at, received_at, outcomes, visit_date):
            raise _reject(problems)
        amount = body.order_amount.quantize(Decimal("0.01")) if body.order_amount is not None else None
        # Only the first writer's UPDATE matches; a racing duplicate waits for it, matches nothing
        # and is answered as a replay below.
        written = {
            "checked_out_at": body.checked_out_at.astimezone(UTC),
            "checkout_received_at": received_at,
            "checkout_hash": digest,
            "outcome": body.outcome,
            "order_amount": amount,
            "notes": body.notes,
            "next_step": body.next_step,
            "next_step_due": body.next_step_due,
            "extra": {**checkin.extra, "checkout_request": plain},
        }
        if await self.session.scalar(_CLAIM_CHECKOUT, {"checkin_id": checkin.id, **written}) is None:
            await self.session.refresh(checkin)
            return await self._replayed_checkout(checkin, plain, digest), False
        for name, value in written.items():  # the loaded arrival now holds what was written
            set_committed_value(checkin, name, value)
        order_id = promise_id = None
        ordered_on = None
        if amount is not None:
            ordered_on = local_date(body.checked_out_at, rep.timezone)
            order_id = await self._insert(
                _INSERT_ORDER,
                customer_id=customer.id,
                rep_id=rep.id,
                amount=amount,
                ordered_on=ordered_on,
                source="checkin",
                checkin_id=checkin.id,
                created_at=received_at,
            )
        if body.next_step is not None and body.next_step_due is not None:
            promise_id = await self._insert(
                _INSERT_PROMISE,
                customer_id=customer.id,
                rep_id=rep.id,
                checkin_id=checkin.id,
                text=body.next_step,
                due_on=body.next_step_due,
                status="open",
                created_at=received_at,
            )
        await self._complete_task(rep, checkin, visit_date, received_at)
        await self._update_customer(customer, visit_date, ordered_on, received_at)
        log.info(
            "checkout_recorded",
            checkin_id=str(checkin.id),
            outcome=body.outcome,
            order_id=str(order_id) if order_id else None,
        )
        return CheckinRecord(checkin, order_id, promise_id), True

    async def _replayed_checkout(self, stored: Checkin, plain: dict[str, Any], digest: str) -> CheckinRecord:
        if stored.checkout_hash != digest:
            raise _conflict(
                f"The check-out of {stored.id}", changed_fields(stored.extra.get("checkout_request"), plain)
            )
        return await self.record(stored)

    async def _insert(self, statement: Any, **values: Any) -> UUID:
        """A plain INSERT of one row (column defaults apply); returns its new id."""
        row_id = uuid4()
        await self.session.execute(statement, {"id": row_id, **values})
        return row_id

    async def _complete_task(self, rep: Principal, checkin: Checkin, visit_date: date, now: datetime) -> None:
        """Mark the visit's task done: the one named at check-in, else today's planned visit."""
        if checkin.task_id is not None:
            task = await self.session.get(Task, checkin.task_id)
        else:
            task = await self.session.scalar(
                select(Task)
                .where(
                    Task.rep_id == rep.id,
                    Task.customer_id == checkin.customer_id,
                    Task.local_date == visit_date,
                    Task.kind == "visit",
                    Task.status.in_(OPEN_TASK_STATUSES),
                )
                .order_by(Task.rank.asc().nulls_last())
                .limit(1)
            )
        if task is None or task.rep_id != rep.id or task.status == "done":
            return
        before = task.status
        # Plain UPDATEs, and the loaded objects told what was written (no unit-of-work flush).
        done = {"status": "done", "checkin_id": checkin.id, "status_changed_at": now, "updated_at": now}
        await self.session.execute(_TASK_DONE, {"task_id": task.id, **done})
        for name, value in done.items():
            set_committed_value(task, name, value)
        if checkin.task_id != task.id:
            await self.session.execute(_CHECKIN_TASK, {"checkin_id": checkin.id, "task_id": task.id})
            set_committed_value(checkin, "task_id", task.id)
        if task.promise_id is not None:  # a visit that keeps a promise closes it
            await self.session.execute(
                update(Promise)
                .where(Promise.id == task.promise_id, Promise.status == "open")
                .values(status="done", done_at=now)
            )
        await self.ctx.get(AuditService).append(
            rep.id,
            "task.done_by_visit",
            "task",
            task.id,
            {"status": before},
            {"status": "done", "checkin_id": checkin.id},
        )

    async def _update_customer(
        self, customer: Customer, visit_date: date, ordered_on: date | None, now: datetime
    ) -> None:
        interval = await self._interval(customer.org_unit_id, customer.grade)
        params = {
            "customer_id": customer.id,
            "visit_date": visit_date,
            "next_due": next_due(visit_date, interval, visit_date),
            "ordered_on": ordered_on,
            "now": now,
        }
        await self.session.execute(_VISIT_DATES[ordered_on is not None], params)

    # ---- Reads ----

    async def customer_in_scope(self, scope: Scope, customer_id: UUID) -> Customer:
        customer = await self.session.get(Customer, customer_id)
        if customer is None or not scope.sees_customer(customer.owner_rep_id, customer.org_unit_id):
            raise not_found("Customer", customer_id, "customer_id")
        return customer

    async def customer(self, customer_id: UUID) -> Customer:
        """A customer by id, unscoped: callers reach it through a check-in already in scope."""
        customer = await self.session.get(Customer, customer_id)
        if customer is None:
            raise not_found("Customer", customer_id, "customer_id")
        return customer

    async def task_for_visit(self, rep: Principal, task_id: UUID, customer_id: UUID) -> Task:
        """The rep's own task for this customer (404 for anyone else's, 422 for another customer)."""
        task = await self.session.get(Task, task_id)
        if task is None or task.rep_id != rep.id:
            raise not_found("Task", task_id, "task_id")
        if task.customer_id != customer_id:
            raise _reject([{"field": "task_id", "message": "belongs to another customer"}])
        return task

    async def org_settings(self, unit_id: UUID) -> OrgSettings | None:
        """The settings of the company above `unit_id`; asked once per unit per session."""
        cache = self.session.info.setdefault("checkins.org_settings", {})
        if unit_id not in cache:
            cache[unit_id] = await self.session.scalar(_SETTINGS_ABOVE, {"unit_id": unit_id})
        return cache[unit_id]

    async def _interval(self, unit_id: UUID, grade: str) -> int:
        """The company's visit interval for `grade` (its policy, else the default)."""
        cache = self.session.info.setdefault("checkins.intervals", {})
        if unit_id not in cache:  # every grade's policy at once, once per unit per session
            rows = await self.session.execute(_POLICIES_ABOVE, {"unit_id": unit_id})
            cache[unit_id] = {**DEFAULT_INTERVALS, **{g: days for g, days in rows if days}}
        intervals: dict[str, int] = cache[unit_id]
        return intervals.get(grade, DEFAULT_INTERVALS["D"])

    async def outcomes_for(self, customer: Customer) -> list[str]:
        return _outcomes(await self.org_settings(customer.org_unit_id))

    def _records(self) -> Any:
        order_id = select(Order.id).where(Order.checkin_id == Checkin.id).limit(1).scalar_subquery()
        promise_id = select(Promise.id).where(Promise.checkin_id == Checkin.id).limit(1).scalar_subquery()
        return select(Checkin, order_id.label("order_id"), promise_id.label("promise_id"))

    async def record(self, checkin: Checkin) -> CheckinRecord:
        row = (await self.session.execute(self._records().where(Checkin.id == checkin.id))).one()
        return CheckinRecord(row[0], row.order_id, row.promise_id)

    async def get(self, scope: Scope, checkin_id: UUID) -> CheckinRecord:
        stmt = self._records().where(Checkin.id == checkin_id, scope.user_clause(Checkin.rep_id))
        row = (await self.session.execute(stmt)).first()
        if row is None:
            raise not_found("Check-in", checkin_id, "checkin_id")
        return CheckinRecord(row[0], row.order_id, row.promise_id)

    async def list(
        self,
        scope: Scope,
        tz: str,
        rep_id: UUID | None = None,
        customer_id: UUID | None = None,
        from_date: date | None = None,
        to_date: date | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CheckinRecord]:
        """Check-ins the caller may see, newest first; dates are whole days in `tz`, inclusive."""
        if from_date and to_date and from_date > to_date:
            raise _reject([{"field": "from", "message": "is after to"}])
        stmt = self._records().where(scope.user_clause(Checkin.rep_id))
        if rep_id is not None:
            stmt = stmt.where(Checkin.rep_id == rep_id)
        if customer_id is not None:
            stmt = stmt.where(Checkin.customer_id == customer_id)
        if from_date is not None:
            stmt = stmt.where(Checkin.checked_in_at >= _start_of(from_date, tz))
        if to_date is not None:
            stmt = stmt.where(Checkin.checked_in_at < _start_of(to_date + timedelta(days=1), tz))
        stmt = stmt.order_by(Checkin.checked_in_at.desc(), Checkin.id).limit(limit).offset(offset)
        return [
            CheckinRecord(row[0], row.order_id, row.promise_id) for row in await self.session.execute(stmt)
        ]


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
_VISIT_DATES = {False: _visit_dates_update(False), True: _visit_dates_update(True)}
_INSERT_ONCE = {
    postgres: insert_or_skip("postgresql" if postgres else "sqlite", Checkin, ["id"]).returning(Checkin)
    for postgres in (False, True)
}
_PREVIOUS_FIX = (  # the rep's last located arrival up to this one: how fast would they have moved?
    select(_CHECKINS.c.lat, _CHECKINS.c.lng, _CHECKINS.c.checked_in_at)
    .where(
        _CHECKINS.c.rep_id == bindparam("rep_id", type_=_CHECKINS.c.rep_id.type),
        _CHECKINS.c.checked_in_at <= bindparam("at", type_=_CHECKINS.c.checked_in_at.type),
        _CHECKINS.c.lat.is_not(None),
        _CHECKINS.c.lng.is_not(None),
    )
    .order_by(_CHECKINS.c.checked_in_at.desc())
    .limit(1)
)
_INSERT_ORDER = insert(Order.__table__)
_INSERT_PROMISE = insert(Promise.__table__)
_TASK_DONE = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task_id", type_=_TASKS.c.id.type))
    .values(
        {
            name: bindparam(name, type_=_TASKS.c[name].type)
            for name in ("status", "checkin_id", "status_changed_at", "updated_at")
        }
    )
)
_CHECKIN_TASK = (
    update(_CHECKINS)
    .where(_CHECKINS.c.id == bindparam("checkin_id", type_=_CHECKINS.c.id.type))
    .values(task_id=bindparam("task_id", type_=_CHECKINS.c.task_id.type))
)
_CHECKOUT_COLUMNS = (
    "checked_out_at", "checkout_received_at", "checkout_hash", "outcome", "order_amount", "notes",
    "next_step", "next_step_due", "extra",
)  # fmt: skip
_CLAIM_CHECKOUT = (  # only the first writer's UPDATE matches (checkout_hash still NULL)
    update(_CHECKINS)
    .where(
        _CHECKINS.c.id == bindparam("checkin_id", type_=_CHECKINS.c.id.type),
        _CHECKINS.c.checkout_hash.is_(None),
    )
    .values({name: bindparam(name, type_=_CHECKINS.c[name].type) for name in _CHECKOUT_COLUMNS})
    .returning(_CHECKINS.c.id)
)


def _company_chain() -> Select[tuple[UUID]]:
    """The unit (bound as :unit_id) and its ancestors: only the company among them has settings
    and policies."""
    chain = ancestors_cte(bindparam("unit_id", type_=OrgUnit.__table__.c.id.type))
    return select(chain.c.id)


# Built once: a recursive CTE costs more to build than to run.
_SETTINGS_ABOVE = select(OrgSettings).where(OrgSettings.company_id.in_(_company_chain()))
_POLICIES_ABOVE = select(VisitPolicy.grade, VisitPolicy.interval_days).where(
    VisitPolicy.company_id.in_(_company_chain())
)


def _outcomes(settings: OrgSettings | None) -> list[str]:
    return list(settings.outcomes) if settings and settings.outcomes else list(DEFAULT_OUTCOMES)


def _start_of(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)
