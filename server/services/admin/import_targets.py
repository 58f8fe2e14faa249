"""CSV import of targets: drafts by external_ref; an approved target is adjusted, not re-imported."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID, uuid4

from sqlalchemy import select

from server.db.models import Customer, Target
from server.domain.plans import (
    GRANULARITIES,
    METRICS,
    SCOPES,
    FieldProblem,
    check_amount,
    check_choice,
    check_period,
)
from server.services.admin.import_rows import Handler, parse_date, parse_decimal, required
from server.services.plans.progress import chunks
from server.services.plans.targets import EDITABLE, PlansService, visible_targets


class TargetRows(Handler):
    MODEL = Target
    COLUMNS: ClassVar[dict[str, bool]] = {"external_ref": True, "scope": True, "scope_ref": True, "metric": True, "granularity": True,
               "period_start": True, "amount": True, "period_end": False}  # fmt: skip

    async def check(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        ctx = self.context
        units = await ctx.units()
        users = await ctx.users({r["scope_ref"].lower() for _, r in rows if r.get("scope") == "user"})
        customers = await ctx.customers({r["scope_ref"] for _, r in rows if r.get("scope") == "customer"})
        existing = await self._existing({r.get("external_ref", "") for _, r in rows})
        seen: dict[str, int] = {}
        new_rows: dict[Any, int] = {}
        for number, row in rows:
            try:
                ref = required(row, "external_ref")
                if ref in seen:
                    raise FieldProblem("external_ref", "appears twice in the file")
                seen[ref] = number
                values = self._values(row, units, users, customers)
                current = existing.get(ref)
                if current is not None and current.id not in self.visible:
                    raise FieldProblem("external_ref", "is already used by a target outside your scope")
                if current is None:
                    key = tuple(values[name] for name in TARGET_KEY_FIELDS)
                    if key in new_rows:
                        raise FieldProblem(
                            "period_start", f"row {new_rows[key]} has a target for the same scope and period"
                        )
                    new_rows[key] = number
                    self.creates.append({"id": uuid4(), "external_ref": ref, "status": "draft", **values})
                    continue
                changes = {k: v for k, v in values.items() if getattr(current, k) != v}
                if changes and current.status not in EDITABLE:
                    raise FieldProblem(
                        "status", f"target {ref} is {current.status}; adjust or re-plan it instead"
                    )
                self.count(changes, current)
            except FieldProblem as problem:
                self.report.reject(number, problem.field, problem.message)
        versions = await self.context.service.ctx.get(PlansService).next_versions(
            list(new_rows),
            on_conflict=lambda key, found, status: self.report.reject(
                new_rows[key], "period_start", f"a {status} target for this scope and period exists ({found})"
            ),
        )
        for create in self.creates:
            create["version"] = versions[tuple(create[name] for name in TARGET_KEY_FIELDS)]

    def _values(
        self,
        row: dict[str, str],
        units: dict[str, UUID],
        users: dict[str, Any],
        customers: dict[str, Customer],
    ) -> dict[str, Any]:
        scope = check_choice("scope", required(row, "scope"), SCOPES)
        ref = required(row, "scope_ref")
        if scope == "user":
            user = users.get(ref.lower())
            scope_id = user.id if user else None
        elif scope == "org_unit":
            scope_id = units.get(ref.lower()) if not self.context.principal.is_rep else None
        else:
            customer = customers.get(ref)
            scope_id = customer.id if customer and self.context.sees_customer(customer) else None
        if scope_id is None:
            raise FieldProblem("scope_ref", f"no {scope} {ref!r} in your scope")
        metric = check_choice("metric", required(row, "metric"), METRICS)
        granularity = check_choice("granularity", required(row, "granularity"), GRANULARITIES)
        start = parse_date("period_start", required(row, "period_start"))
        end = parse_date("period_end", row["period_end"]) if row.get("period_end") else None
        return {
            "scope": scope,
            "scope_id": scope_id,
            "metric": metric,
            "granularity": granularity,
            "period_start": start,
            "period_end": check_period(granularity, start, end),
            "amount": check_amount("amount", parse_decimal("amount", required(row, "amount")), metric),
        }

    async def _existing(self, refs: set[str]) -> dict[str, Target]:
        found: dict[str, Target] = {}
        session, access = self.context.session, self.context.access
        for part in chunks(sorted(refs)):
            for target in await session.scalars(select(Target).where(Target.external_ref.in_(part))):
                found[target.external_ref or ""] = target
            visible = select(Target.id).where(Target.external_ref.in_(part), visible_targets(access))
            self.visible.update((await session.scalars(visible)).all())
        return found

    async def write(self) -> None:
        # ORM objects rather than a bulk insert: the audit log keeps a snapshot of each target.
        created = [Target(**row) for row in self.creates]
        self.context.session.add_all(created)
        for current, changes in self.updates:
            for name, value in changes.items():
                setattr(current, name, value)
        await self.context.session.flush()
        self.report.created = len(created)
        plans = self.context.service.ctx.get(PlansService)
        plans.audit_many(self.context.principal, "target.imported", created, {})
        plans.audit_many(self.context.principal, "target.reimported", [t for t, _ in self.updates], {})


TARGET_KEY_FIELDS = ("scope", "scope_id", "metric", "granularity", "period_start", "period_end")
