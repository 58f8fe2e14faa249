"""What a check-out writes once it is the first to claim its check-in, and the two ways to write it.

The claim (statements.CLAIM_CHECKOUT) matches only while the check-in has no check-out: a racing
duplicate waits for the first writer, matches nothing and is answered as a replay, so nothing
below may be written unless the claim matched.

- SQLite: the claim, then each write, one statement at a time (`run_in_sequence`).
- PostgreSQL: all of it in one statement (`run_fused`). Each write is a data-modifying CTE that
  reads the claim's RETURNING, so a claim that matches nothing writes nothing, exactly as the
  sequence stops. One round trip instead of up to six: each cost ~0.15 ms of server CPU per
  visit (docs/scale.md, sixth run). All parts see the same snapshot, the parts that lock rows
  (the customer's) run after the claim, as in the sequence, and the foreign keys are checked at
  the end of the statement.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import CTE, Result, Table, bindparam, exists, insert, select
from sqlalchemy.sql import visitors
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from server.core.audit import INSERT_ENTRY
from server.db.models import AuditEntry, Order, Promise, Task
from server.services.checkins.statements import (
    CLAIM_CHECKOUT,
    INSERT_ORDER,
    INSERT_PROMISE,
    INSERT_TASK,
    PROMISE_DONE,
    TASK_DONE,
    VISIT_DATES,
)

Run = Callable[[Any, dict[str, Any]], Awaitable[Result[Any]]]
_AUDIT: Table = AuditEntry.__table__
_NO_OPTIONS: dict[str, Any] = {}


@dataclass
class CheckoutWrites:
    """The parameters of each write; None: not written by this check-out."""

    claim: dict[str, Any]  # CLAIM_CHECKOUT's: checkin_id and the check-out's columns
    customer: dict[str, Any]  # VISIT_DATES'
    order: dict[str, Any] | None = None  # an orders row
    promise: dict[str, Any] | None = None  # a promises row (the next step)
    walk_in: dict[str, Any] | None = None  # a tasks row: the visit was not on the day's list
    task_done: dict[str, Any] | None = None  # TASK_DONE's: the day's task this visit completes
    promise_done: dict[str, Any] | None = None  # PROMISE_DONE's: the promise that task kept
    audit: dict[str, Any] | None = None  # an audit_log row for the task

    def shape(self) -> tuple[bool, ...]:
        """Which writes there are: one fused statement is built per shape."""
        ordered = self.customer.get("ordered_on") is not None
        parts = (self.order, self.promise, self.walk_in, self.task_done, self.promise_done, self.audit)
        return (ordered, *(part is not None for part in parts))


async def run_in_sequence(run: Run, writes: CheckoutWrites) -> bool:
    """Claim, then write each part; False (nothing written) when the claim matched nothing."""
    if (await run(CLAIM_CHECKOUT, writes.claim)).scalar() is None:
        return False
    for statement, params in (
        (INSERT_ORDER, writes.order),
        (INSERT_PROMISE, writes.promise),
        (INSERT_TASK, writes.walk_in),
        (TASK_DONE, writes.task_done),
        (PROMISE_DONE, writes.promise_done),
        (INSERT_ENTRY, writes.audit),
    ):
        if params is not None:
            await run(statement, params)
    ordered = writes.customer.get("ordered_on") is not None
    await run(VISIT_DATES[ordered], writes.customer)
    return True


async def run_fused(run: Run, writes: CheckoutWrites) -> bool:
    """The same writes as `run_in_sequence`, in one PostgreSQL statement."""
    params = {_name("claim", k): v for k, v in writes.claim.items()}
    params |= {_name("customer", k): v for k, v in writes.customer.items()}
    rows = {
        "order": writes.order,
        "promise": writes.promise,
        "walk_in": writes.walk_in,
        "audit": writes.audit,
    }
    for prefix, row in rows.items():
        if row is not None:
            rows[prefix] = row = _with_defaults(_TABLES[prefix], row)
            params |= {_name(prefix, k): v for k, v in row.items()}
    for prefix in ("task_done", "promise_done"):
        if (part := getattr(writes, prefix)) is not None:
            params |= {_name(prefix, k): v for k, v in part.items()}
    columns = tuple(tuple(sorted(row)) if row is not None else () for row in rows.values())
    return (await run(_fused(writes.shape(), columns), params)).scalar() is not None


_TABLES: dict[str, Table] = {
    "order": Order.__table__,
    "promise": Promise.__table__,
    "walk_in": Task.__table__,
    "audit": _AUDIT,
}


def _with_defaults(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """The row with the columns' scalar defaults that a plain INSERT would add (currency, status
    ...): INSERT ... SELECT adds none. A column whose default is computed must be in the row."""
    full = dict(row)
    for column in table.c:
        default = column.default
        if column.key in full or default is None or getattr(column, "_insert_sentinel", False):
            continue
        if not isinstance(default, ScalarElementColumnDefault):
            raise ValueError(f"{table.name}.{column.key} has a computed default: give it a value")
        full[column.key] = default.arg
    return full


def _name(prefix: str, key: str) -> str:
    """A part's parameter name. The double underscore matters: an execution parameter named like
    a column of an UPDATE's table is added to its SET ("promise_id" from promise + id would be)."""
    return f"{prefix}__{key}"


def _rebind(statement: Any, prefix: str) -> Any:
    """A copy of a built statement whose named bind parameters carry `prefix`: the parts of the
    fused statement share one parameter namespace (the claim and TASK_DONE both bind task_id).
    Literals (anonymous parameters holding their value, such as status = 'open') stay as they are."""

    def replace(element: Any, **_: Any) -> Any:
        if _named(element):
            return bindparam(_name(prefix, element.key), type_=element.type, unique=False)
        return None

    return visitors.replacement_traverse(statement, _NO_OPTIONS, replace)


def _named(element: Any) -> bool:
    return getattr(element, "__visit_name__", None) == "bindparam" and not element.unique


def _insert_row(table: Table, columns: tuple[str, ...], prefix: str, claim: CTE) -> Any:
    """INSERT INTO table (columns) SELECT :prefix__column, ... FROM claim: a row if it matched."""
    values = select(*(bindparam(_name(prefix, c), type_=table.c[c].type) for c in columns)).select_from(claim)
    return insert(table).from_select(list(columns), values, include_defaults=False)


@cache  # a handful of shapes, each built once: building costs more than running
def _fused(shape: tuple[bool, ...], columns: tuple[tuple[str, ...], ...]) -> Any:
    """WITH claim AS (UPDATE checkins ... RETURNING id), write_0 AS (...), ... SELECT id FROM
    claim: the check-out's id when the claim matched, no row when it did not."""
    ordered, order, promise, walk_in, task_done, promise_done, audit = shape
    order_columns, promise_columns, walk_in_columns, audit_columns = columns
    claim = _rebind(CLAIM_CHECKOUT, "claim").cte("claim")
    claimed = exists(select(claim.c.id))
    parts: list[Any] = []
    if order:
        parts.append(_insert_row(Order.__table__, order_columns, "order", claim))
    if promise:
        parts.append(_insert_row(Promise.__table__, promise_columns, "promise", claim))
    if walk_in:
        parts.append(_insert_row(Task.__table__, walk_in_columns, "walk_in", claim))
    if task_done:
        parts.append(_rebind(TASK_DONE, "task_done").where(claimed))
    if promise_done:
        parts.append(_rebind(PROMISE_DONE, "promise_done").where(claimed))
    if audit:
        parts.append(_insert_row(_AUDIT, audit_columns, "audit", claim))
    visit_dates = VISIT_DATES[ordered]
    parts.append(_rebind(visit_dates, "customer").where(claimed))
    ctes = [part.cte(f"write_{n}") for n, part in enumerate(parts)]
    return select(claim.c.id).add_cte(*ctes)
