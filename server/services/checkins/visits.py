"""Visit check-in and check-out: accepted once per client UUID, GPS-checked, feeding the plan.

The phone may send the same request many times (offline outbox replays, lost responses), so both
writes are idempotent: a canonical hash of the body is stored, a replay returns the stored record
and a different body under the same id is a 409. Races are settled by the database itself
(INSERT ... ON CONFLICT DO NOTHING and a conditional UPDATE), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import structlog
from sqlalchemy import Row

from server.core.access import Principal, Scope
from server.core.errors import ProblemError, not_found
from server.core.upsert import dialect_of
from server.db.models import Checkin
from server.domain.calendar import local_date
from server.domain.checkin import (
    CheckinIn,
    CheckoutIn,
    body_hash,
    canonical_body,
    changed_fields,
    checkin_problems,
    checkout_problems,
)
from server.domain.geo import DEFAULT_RADIUS_M, Fix, geo_status, implausible_flags
from server.domain.routing import haversine_m
from server.services.checkins.amounts import OrderAmountsService
from server.services.checkins.checkout_writes import CheckoutWrites, run_fused, run_in_sequence
from server.services.checkins.context import ARRIVAL, VISIT, visit_of
from server.services.checkins.effects import VisitEffects
from server.services.checkins.reads import CheckinRecord, outcomes_of, reject
from server.services.checkins.statements import INSERT_ONCE
from server.services.evidence.forms_answers import CheckedAnswers, VisitAnswersService
from server.services.pipeline.visits import VisitDeals

log = structlog.get_logger("fieldsales.checkins")


def _conflict(what: str, fields: list[str]) -> ProblemError:
    detail = f"{what} was already recorded with different data ({', '.join(fields)})."
    errors = [{"field": f, "message": "differs from the request already accepted"} for f in fields]
    return ProblemError(409, detail, errors, conflicting_fields=fields)


class CheckinsService(VisitEffects):
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
                raise reject(problems)
            arrival = await self._arrival(rep, scope, body)
        except ProblemError:
            existing = await self.session.get(Checkin, body.id)
            if existing is not None:
                return self._replayed_checkin(existing, rep, plain, digest), False
            raise
        radius = float(arrival.radius_m) if arrival.radius_m is not None else DEFAULT_RADIUS_M
        distance, flags = _distance_and_flags(arrival, body)
        checked_in_at = body.checked_in_at.astimezone(UTC)
        values = {
            "id": body.id,
            "rep_id": rep.id,
            "customer_id": arrival.id,
            "task_id": body.task_id,
            "checked_in_at": checked_in_at,
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
        # as a replay. PostgreSQL makes this INSERT wait for the other transaction to finish. An
        # arrival older than one already recorded is closed at that one in the same INSERT.
        visit = {"visit_rep": rep.id, "visit_id": body.id, "visit_at": checked_in_at}
        inserted = (
            await self._core(INSERT_ONCE[dialect_of(self.session) == "postgresql"], values | visit)
        ).first()
        if inserted is None:
            winner = await self.session.get(Checkin, body.id, populate_existing=True)
            assert winner is not None  # the conflicting row is committed, hence visible
            return self._replayed_checkin(winner, rep, plain, digest), False
        # The row as stored, for the answer: never added to the session (it is written already).
        checkin = Checkin(
            **values,
            checked_out_at=inserted.checked_out_at,
            closed_by_checkin_id=inserted.closed_by_checkin_id,
        )
        if arrival.earlier_open:
            await self._close_earlier_visits(visit)
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

    async def _arrival(self, rep: Principal, scope: Scope, body: CheckinIn) -> Row[Any]:
        """The customer in scope (else 404), the rep's own task for it (404 / 422), and what the
        rules need besides: one statement (context.py)."""
        params = {
            "customer_id": body.customer_id,
            "rep_id": rep.id,
            "at": body.checked_in_at.astimezone(UTC),
            "task_id": body.task_id,
        }
        arrival = (await self._core(ARRIVAL, params)).first()
        if arrival is None or not scope.sees_customer(arrival.owner_rep_id, arrival.org_unit_id):
            raise not_found("Customer", body.customer_id, "customer_id")
        if body.task_id is not None:
            if arrival.task_id is None or arrival.task_rep_id != rep.id:
                raise not_found("Task", body.task_id, "task_id")
            if arrival.task_customer_id != body.customer_id:
                raise reject([{"field": "task_id", "message": "belongs to another customer"}])
        return arrival

    async def check_out(
        self, rep: Principal, checkin_id: UUID, body: CheckoutIn
    ) -> tuple[CheckinRecord, bool]:
        """Record the outcome and, in the same transaction, the order, the promise, the completed
        task and the customer's visit dates; (record, first_time)."""
        received_at = self.clock.now()
        plain = canonical_body(body)
        digest = body_hash(plain)
        # The arrival with its customer, task, company and settings in one statement (context.py).
        # A stale copy is harmless: the conditional UPDATE below is what settles a race.
        row = (await self._core(VISIT, {"checkin_id": checkin_id})).first()
        if row is None or row.rep_id != rep.id:
            raise not_found("Check-in", checkin_id, "checkin_id")
        visit = visit_of(row)
        checkin, customer, settings = visit.checkin, visit.customer, visit.settings
        if checkin.checkout_hash is not None:
            return await self._replayed_checkout(checkin, plain, digest), False
        if visit.company_id is not None:  # the visit forms need not look for it again
            self.ctx.get(VisitAnswersService).remember_company(customer.org_unit_id, visit.company_id)
        visit_date = local_date(checkin.checked_in_at, rep.timezone)
        outcomes = outcomes_of(settings)
        problems = checkout_problems(body, checkin.checked_in_at, received_at, outcomes, visit_date)
        answers: list[CheckedAnswers] = []
        answer_problems: list[dict[str, str]] = []
        if body.answers or visit.has_forms:  # no form and no answer: nothing to check
            answers, answer_problems = await self.ctx.get(VisitAnswersService).check(
                customer, body.answers or []
            )
        if problems := problems + answer_problems:
            raise reject(problems)
        amount = body.order_amount.quantize(Decimal("0.01")) if body.order_amount is not None else None
        large = amount is not None and await self.ctx.get(OrderAmountsService).check(
            customer, amount, visit_date, bool(body.amount_confirmed), settings
        )
        task = await self._task_of(rep, checkin, visit.task, visit_date)
        walk_in = task is None and checkin.task_id is None
        # A walk-in's task gets its id now, so the claim below links it; it is added with the claim.
        task_id = uuid4() if walk_in else task.id if task is not None else checkin.task_id
        # Only the first writer's claim matches; a racing duplicate waits for it, matches nothing,
        # writes nothing and is answered as a replay below.
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
            "task_id": task_id,
        }
        ordered_on = local_date(body.checked_out_at, rep.timezone) if amount is not None else None
        writes = CheckoutWrites(
            claim={"checkin_id": checkin.id, **written},
            customer=self._visit_dates(customer, visit.policy_days, visit_date, ordered_on, received_at),
        )
        order_id = promise_id = None
        if amount is not None:
            order_id = uuid4()
            writes.order = {
                "id": order_id, "customer_id": customer.id, "rep_id": rep.id, "amount": amount,
                "ordered_on": ordered_on, "source": "checkin", "checkin_id": checkin.id,
                "created_at": received_at, "amount_confirmed": large,
            }  # fmt: skip
        if body.next_step is not None and body.next_step_due is not None:
            promise_id = uuid4()
            writes.promise = {
                "id": promise_id, "customer_id": customer.id, "rep_id": rep.id, "checkin_id": checkin.id,
                "text": body.next_step, "due_on": body.next_step_due, "status": "open",
                "created_at": received_at,
            }  # fmt: skip
        self._task_writes(writes, rep, checkin, task, task_id if walk_in else None, visit_date, received_at)
        # One statement on PostgreSQL, the same writes one by one on SQLite (checkout_writes.py).
        postgres = dialect_of(self.session) == "postgresql"
        if not await (run_fused if postgres else run_in_sequence)(self._core, writes):
            winner = await self.session.get(Checkin, checkin.id, populate_existing=True)
            assert winner is not None
            return await self._replayed_checkout(winner, plain, digest), False
        for name, value in written.items():  # the arrival read above now holds what was written
            setattr(checkin, name, value)
        await self.ctx.get(VisitAnswersService).store(checkin, answers, body.checked_out_at)
        if large:
            assert order_id is not None and amount is not None
            await self.ctx.get(OrderAmountsService).flag_to_manager(rep, customer, order_id, amount)
        if body.opportunity is not None:
            await self.ctx.get(VisitDeals).record(rep, checkin.id, customer.id, body.opportunity)
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


def _distance_and_flags(arrival: Row[Any], body: CheckinIn) -> tuple[float | None, list[str]]:
    """Distance to the customer and what looks implausible about the fix (the speed since the
    rep's previous located arrival, read with the customer)."""
    if body.lat is None or body.lng is None:
        return None, []
    flags: list[str] = []
    distance = None
    if arrival.lat is None or arrival.lng is None:
        flags.append("customer_not_located")  # no_fix would otherwise look like the phone's fault
    else:
        distance = haversine_m(arrival.lat, arrival.lng, body.lat, body.lng)
    previous = arrival.previous_at
    fix = Fix(arrival.previous_lat, arrival.previous_lng, previous) if previous is not None else None
    flags += implausible_flags(body.accuracy_m, fix, Fix(body.lat, body.lng, body.checked_in_at))
    return distance, flags
