"""Row checks and writes for each CSV import kind (customers, orders, targets).

Each handler checks every row against the database in a few set-based lookups, collects what to
create and update, and writes it in bulk only when no row was rejected.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from uuid import UUID, uuid4

from sqlalchemy import func, insert, select

from server.core.access import Principal, Scope
from server.core.domains import date_problem, number_problem
from server.core.services import Service
from server.db.models import Customer, Order, OrgUnit, User
from server.domain.plans import FieldProblem, check_amount, check_choice
from server.services.checkins.orders import check_currency, check_order_amount, check_ordered_on
from server.services.plans.progress import chunks

CUSTOMER_STATUSES = ("active", "prospect", "closed")


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    regraded: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: int, field_name: str, reason: str) -> None:
        self.errors.append({"row": row, "field": field_name, "message": reason})


def parse_decimal(field_name: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FieldProblem(field_name, f"{raw!r} is not a number") from None
    reason = number_problem(value)
    if reason:
        raise FieldProblem(field_name, reason if value.is_finite() else f"{raw!r} is not a number")
    return value


def parse_date(field_name: str, raw: str) -> date:
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise FieldProblem(field_name, f"{raw!r} is not a date (YYYY-MM-DD)") from None
    reason = date_problem(value)
    if reason:
        raise FieldProblem(field_name, reason)
    return value


def parse_coordinate(field_name: str, raw: str, limit: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise FieldProblem(field_name, f"{raw!r} is not a number") from None
    if not -limit <= value <= limit:
        raise FieldProblem(field_name, f"must be between -{limit:g} and {limit:g}")
    return value


def required(row: dict[str, str], name: str) -> str:
    value = row.get(name, "")
    if not value:
        raise FieldProblem(name, "is required")
    return value


@dataclass
class RowContext:
    """The importer, their scope and set-based lookups shared by the handlers."""

    service: Service
    principal: Principal
    access: Scope
    report: ImportReport

    @property
    def session(self) -> Any:
        return self.service.session

    async def units(self) -> dict[str, UUID]:
        """Visible units by id, external_ref and name (a name two units share is left out)."""
        rows = (await self.session.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.external_ref))).all()
        visible = [r for r in rows if self.access.sees_unit(r.id)]
        names: dict[str, list[UUID]] = {}
        for r in visible:
            names.setdefault(r.name.lower(), []).append(r.id)
        keys = {name: ids[0] for name, ids in names.items() if len(ids) == 1}
        keys.update({r.external_ref.lower(): r.id for r in visible if r.external_ref})
        keys.update({str(r.id): r.id for r in visible})
        return keys

    async def users(self, emails: set[str]) -> dict[str, Any]:
        """Visible users by lower-case email."""
        found: dict[str, Any] = {}
        for part in chunks(sorted(emails)):
            query = select(User.id, User.email, User.org_unit_id).where(func.lower(User.email).in_(part))
            for r in await self.session.execute(query):
                if self.access.sees_user(r.id, r.org_unit_id):
                    found[r.email.lower()] = r
        return found

    async def customers(self, refs: set[str]) -> dict[str, Customer]:
        """Customers by external_ref, in scope or not (so a clash is reported, not duplicated)."""
        found: dict[str, Customer] = {}
        for part in chunks(sorted(refs)):
            for customer in await self.session.scalars(
                select(Customer).where(Customer.external_ref.in_(part))
            ):
                found[customer.external_ref or ""] = customer
        return found

    def sees_customer(self, customer: Customer) -> bool:
        if self.principal.is_rep:
            return customer.owner_rep_id == self.principal.id
        return customer.org_unit_id in self.access.unit_ids

    @staticmethod
    def new_ref(row: dict[str, str], seen: set[str]) -> str:
        """The row's external_ref, refused when an earlier row of the file has it (`seen` grows)."""
        ref = required(row, "external_ref")
        if ref in seen:
            raise FieldProblem("external_ref", "appears twice in the file")
        seen.add(ref)
        return ref

    def customer_of(self, row: dict[str, str], customers: dict[str, Customer]) -> Customer:
        """The customer the row's customer_ref names, refused when it is not in the caller's scope."""
        customer = customers.get(required(row, "customer_ref"))
        if customer is None or not self.sees_customer(customer):
            raise FieldProblem("customer_ref", "no customer with this external_ref in your scope")
        return customer


class Handler(ABC):
    COLUMNS: ClassVar[dict[str, bool]] = {}
    MODEL: ClassVar[Any] = None

    def __init__(self, context: RowContext) -> None:
        self.context = context
        self.report = context.report
        self.creates: list[dict[str, Any]] = []
        self.updates: list[tuple[Any, dict[str, Any]]] = []
        self.touched_customers: set[UUID] = set()
        self.visible: set[UUID] = set()

    @abstractmethod
    async def check(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        """Check every row against the database, collecting creates, updates and rejections."""

    def count(self, changes: dict[str, Any], current: Any) -> None:
        if changes:
            self.updates.append((current, changes))
            self.report.updated += 1
        else:
            self.report.unchanged += 1

    async def write(self) -> None:
        """Bulk-insert the new rows; apply the changes to the loaded existing ones."""
        for part in chunks(self.creates, 1000):
            await self.context.session.execute(insert(self.MODEL), list(part))
        for current, changes in self.updates:
            for name, value in changes.items():
                setattr(current, name, value)
        await self.context.session.flush()
        self.report.created = len(self.creates)


class CustomerRows(Handler):
    MODEL = Customer
    COLUMNS: ClassVar[dict[str, bool]] = {"external_ref": True, "name": False, "org_unit": False, "owner_email": False, "address": False,
               "lat": False, "lng": False, "status": False, "potential": False}  # fmt: skip

    async def check(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        ctx = self.context
        existing = await ctx.customers({r.get("external_ref", "") for _, r in rows})
        units = await ctx.units()
        owners = await ctx.users({r["owner_email"].lower() for _, r in rows if r.get("owner_email")})
        seen: set[str] = set()
        for number, row in rows:
            try:
                ref = ctx.new_ref(row, seen)
                values = self._values(row, units, owners)
                current = existing.get(ref)
                if current is None:
                    if "name" not in values:
                        raise FieldProblem("name", "is required for a new customer")
                    if "org_unit_id" not in values:
                        raise FieldProblem("org_unit", "is required for a new customer (or give owner_email)")
                    self.creates.append({"id": uuid4(), "external_ref": ref, "status": "active", **values})
                elif not ctx.sees_customer(current):
                    raise FieldProblem("external_ref", "is already used by a customer outside your scope")
                else:
                    self.count({k: v for k, v in values.items() if getattr(current, k) != v}, current)
            except FieldProblem as problem:
                self.report.reject(number, problem.field, problem.message)

    def _values(self, row: dict[str, str], units: dict[str, UUID], owners: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if row.get("name"):
            values["name"] = row["name"][:300]
        if row.get("owner_email"):
            owner = owners.get(row["owner_email"].lower())
            if owner is None:
                raise FieldProblem("owner_email", "no such user in your scope")
            values["owner_rep_id"], values["org_unit_id"] = owner.id, owner.org_unit_id
        if row.get("org_unit"):
            unit = units.get(row["org_unit"].lower())
            if unit is None:
                raise FieldProblem("org_unit", "no such org unit in your scope (name, external_ref or id)")
            values["org_unit_id"] = unit
        if row.get("address"):
            values["address"] = row["address"][:500]
        if row.get("lat"):
            values["lat"] = parse_coordinate("lat", row["lat"], 90)
        if row.get("lng"):
            values["lng"] = parse_coordinate("lng", row["lng"], 180)
        if row.get("status"):
            values["status"] = check_choice("status", row["status"].lower(), CUSTOMER_STATUSES)
        if row.get("potential"):
            values["potential"] = check_amount("potential", parse_decimal("potential", row["potential"]))
        return values


class OrderRows(Handler):
    MODEL = Order
    COLUMNS: ClassVar[dict[str, bool]] = {"external_ref": True, "customer_ref": True, "amount": True, "ordered_on": True,
               "rep_email": False, "currency": False}  # fmt: skip

    async def check(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        ctx = self.context
        customers = await ctx.customers({r.get("customer_ref", "") for _, r in rows})
        reps = await ctx.users({r["rep_email"].lower() for _, r in rows if r.get("rep_email")})
        existing = await self._existing({r.get("external_ref", "") for _, r in rows})
        today = ctx.service.clock.local_date(ctx.principal.timezone)  # the importer's today
        seen: set[str] = set()
        for number, row in rows:
            try:
                ref = ctx.new_ref(row, seen)
                customer = ctx.customer_of(row, customers)
                rep_id = customer.owner_rep_id
                if row.get("rep_email"):
                    rep = reps.get(row["rep_email"].lower())
                    if rep is None:
                        raise FieldProblem("rep_email", "no such user in your scope")
                    rep_id = rep.id
                values = {
                    "customer_id": customer.id,
                    "rep_id": rep_id,
                    "amount": check_order_amount("amount", parse_decimal("amount", required(row, "amount"))),
                    "ordered_on": check_ordered_on(
                        "ordered_on", parse_date("ordered_on", required(row, "ordered_on")), today
                    ),
                    "currency": check_currency("currency", (row.get("currency") or "USD").upper()),
                }
                current, owner = existing.get(ref, (None, None))
                if current is None:
                    self.creates.append({"id": uuid4(), "external_ref": ref, "source": "import",
                                         "created_at": ctx.service.clock.now(), **values})  # fmt: skip
                elif owner is None or not ctx.sees_customer(owner):
                    raise FieldProblem("external_ref", "is already used by an order outside your scope")
                else:
                    self.count({k: v for k, v in values.items() if getattr(current, k) != v}, current)
                    self.touched_customers.add(current.customer_id)
                self.touched_customers.add(customer.id)
            except FieldProblem as problem:
                self.report.reject(number, problem.field, problem.message)

    async def _existing(self, refs: set[str]) -> dict[str, tuple[Order, Customer]]:
        found: dict[str, tuple[Order, Customer]] = {}
        for part in chunks(sorted(refs)):
            query = select(Order, Customer).join(Customer, Customer.id == Order.customer_id)
            for order, customer in await self.context.session.execute(
                query.where(Order.external_ref.in_(part))
            ):
                found[order.external_ref or ""] = (order, customer)
        return found
