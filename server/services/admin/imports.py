"""CSV imports of customers, orders, targets and opportunities: idempotent by external_ref, all or nothing.

Every row is checked first; one rejected row rejects the file and nothing is written, and the
report names each rejected row (row 1 is the header, so data starts at row 2), field and reason.
A row whose external_ref exists updates that record, or does nothing when it is unchanged, so
importing the same file twice leaves the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.domains import text_problem
from server.core.org import company_id_for_unit
from server.core.services import Service
from server.db.models import Customer, Order
from server.services.admin.import_rows import CustomerRows, Handler, ImportReport, OrderRows, RowContext
from server.services.admin.import_targets import TargetRows
from server.services.customers.grading import GradingService
from server.services.customers.visit_policy import VisitPolicyService
from server.services.pipeline.import_rows import OpportunityRows
from server.services.plans.progress import chunks

KINDS = ("customers", "orders", "targets", "opportunities")
CELL_MAX = 500  # the longest text column an import writes (addresses)


def parse_table(
    table: list[list[str]], columns: dict[str, bool], report: ImportReport
) -> list[tuple[int, dict[str, str]]]:
    """Rows as {column: stripped value}, numbered like a spreadsheet; header problems go to row 1.

    `table` comes from `server.core.csv.read_table`; `columns` maps each known column to whether
    it is required.
    """
    reader = iter(table)
    header = [name.strip().lstrip("\ufeff").lower() for name in next(reader, [])]
    while header and not header[-1]:
        header.pop()  # spreadsheets leave empty trailing header cells
    if not any(header):
        report.reject(1, "header", "the file is empty: the first row must name the columns")
        return []
    for name in header:
        if name not in columns:
            report.reject(1, name or "header", f"unknown column; expected {', '.join(columns)}")
    for name, required in columns.items():
        if required and name not in header:
            report.reject(1, name, "required column is missing")
    if len(set(header)) != len(header):
        report.reject(1, "header", "a column appears twice")
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue  # blank line
        if len(values) > len(header) and not any(v.strip() for v in values[len(header) :]):
            values = values[: len(header)]
        if len(values) != len(header):
            report.reject(number, "row", f"has {len(values)} cells, the header has {len(header)}")
            continue
        cells = {name: value.strip() for name, value in zip(header, values, strict=True)}
        bad = [(name, text_problem(value, CELL_MAX)) for name, value in cells.items()]
        for name, reason in bad:
            if reason:
                report.reject(number, name, reason)
        if not any(reason for _, reason in bad):
            rows.append((number, cells))
    report.rows = len(rows)
    return rows


class ImportService(Service):
    async def run(
        self, principal: Principal, access: Scope, kind: str, table: list[list[str]]
    ) -> ImportReport:
        """Validate every row, then write all of them (or, with any rejected row, none)."""
        report = ImportReport(kind)
        context = RowContext(self, principal, access, report)
        handlers: dict[str, Callable[[RowContext], Handler]] = {
            "customers": CustomerRows,
            "orders": OrderRows,
            "targets": TargetRows,
            "opportunities": OpportunityRows,
        }
        handler = handlers[kind](context)
        rows = parse_table(table, handler.COLUMNS, report)
        if report.errors:
            return report
        await handler.check(rows)
        if report.errors:
            return report
        await handler.write()
        if kind == "orders":
            await self._refresh_last_order(handler.touched_customers)
        if kind in ("customers", "orders"):
            report.regraded = await self._regrade(principal, handler)
        await self.ctx.get(AuditService).record(
            principal.id,
            f"import.{kind}",
            "import",
            None,
            after={"rows": report.rows, "created": report.created, "updated": report.updated},
        )
        return report

    async def _regrade(self, principal: Principal, handler: Any) -> int:
        """Regrade the importer's company now, not at the nightly run.

        ABC grades are shares of a company's revenue, so one new order can move other customers'
        grades too: the whole company is regraded (set-based; only changed rows are written).
        Every imported customer is in the importer's scope, hence in their company.
        """
        if principal.org_unit_id is None or not (handler.creates or handler.updates):
            return 0
        company_id = await company_id_for_unit(self.session, principal.org_unit_id)
        today = await self.ctx.get(VisitPolicyService).company_today(company_id)
        result = await self.ctx.get(GradingService).regrade_company(company_id, today)
        return result.changed

    async def _refresh_last_order(self, customer_ids: set[Any]) -> None:
        # The planner reads customers.last_order_on; keep it true after orders arrive in bulk.
        latest = select(func.max(Order.ordered_on)).where(Order.customer_id == Customer.id).scalar_subquery()
        for part in chunks(sorted(customer_ids)):
            await self.session.execute(
                update(Customer).where(Customer.id.in_(part)).values(last_order_on=latest),
                execution_options={"synchronize_session": False},
            )
