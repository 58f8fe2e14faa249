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
from uuid import UUID

import structlog
from sqlalchemy.orm.attributes import set_committed_value

from server.core.access import Principal, Scope
from server.core.errors import ProblemError, not_found
from server.db.models import Checkin, Customer
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
from server.services.checkins.effects import VisitEffects
from server.services.checkins.reads import CheckinRecord, outcomes_of, reject
from server.services.checkins.statements import (
    CLAIM_CHECKOUT,
    INSERT_ONCE,
    INSERT_ORDER,
    INSERT_PROMISE,
    PREVIOUS_FIX,
)
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
            INSERT_ONCE[self.session.get_bind().dialect.name == "postgresql"],
            values,
            execution_options={"populate_existing": True},
        )
        if checkin is None:
            winner = await self.session.get(Checkin, body.id, populate_existing=True)
            assert winner is not None  # the conflicting row is committed, hence visible
            return self._replayed_checkin(winner, rep, plain, digest), False
        await self._one_open_visit(checkin)
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
            PREVIOUS_FIX, {"rep_id": rep_id, "at": body.checked_in_at.astimezone(UTC)}
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
        outcomes = outcomes_of(settings)
        if problems := checkout_problems(body, checkin.checked_in_at, received_at, outcomes, visit_date):
            raise reject(problems)
        amount = body.order_amount.quantize(Decimal("0.01")) if body.order_amount is not None else None
        large = amount is not None and await self.ctx.get(OrderAmountsService).check(
            customer, amount, visit_date, bool(body.amount_confirmed), settings
        )
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
        if await self.session.scalar(CLAIM_CHECKOUT, {"checkin_id": checkin.id, **written}) is None:
            await self.session.refresh(checkin)
            return await self._replayed_checkout(checkin, plain, digest), False
        for name, value in written.items():  # the loaded arrival now holds what was written
            set_committed_value(checkin, name, value)
        order_id = promise_id = None
        ordered_on = None
        if amount is not None:
            ordered_on = local_date(body.checked_out_at, rep.timezone)
            order_id = await self._insert(
                INSERT_ORDER,
                customer_id=customer.id,
                rep_id=rep.id,
                amount=amount,
                ordered_on=ordered_on,
                source="checkin",
                checkin_id=checkin.id,
                created_at=received_at,
                amount_confirmed=large,
            )
            if large:
                await self.ctx.get(OrderAmountsService).flag_to_manager(rep, customer, order_id, amount)
        if body.next_step is not None and body.next_step_due is not None:
            promise_id = await self._insert(
                INSERT_PROMISE,
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
