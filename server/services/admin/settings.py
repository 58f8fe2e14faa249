"""Company settings an admin edits: one `org_settings` row per company (keys in docs/settings.md).

Reads go through `settings_for`; every change is validated as a whole (yellow <= orange <= red,
work start before work end, effort shares adding up to at most 100%) and audited with the
before and after values.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from server.core.audit import AuditService
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.org import company_settings
from server.core.services import Service
from server.db.models import OrgSettings

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# key -> (kind, minimum, maximum); fractions are Decimals in (0, 1).
FIELDS: dict[str, tuple[str, Any, Any]] = {
    "pace_yellow": ("fraction", Decimal("0.01"), Decimal("0.99")),
    "pace_orange": ("fraction", Decimal("0.01"), Decimal("0.99")),
    "pace_red": ("fraction", Decimal("0.01"), Decimal("0.99")),
    "grace_working_days": ("int", 0, 20),
    "escalation_climb_h": ("int", 1, 168),
    "escalation_next_climb_h": ("int", 1, 336),
    "reminder_second_window_h": ("int", 1, 24),
    "reminder_group_min": ("int", 5, 240),
    "quiet_start": ("time", None, None),
    "quiet_end": ("time", None, None),
    "work_start": ("time", None, None),
    "work_end": ("time", None, None),
    "checkin_radius_m": ("int", 25, 5000),
    "order_amount_ceiling": ("money", Decimal("1"), Decimal("999999999999")),
    "photo_retention_days": ("int", 0, 3650),  # 0 keeps visit photos forever
    "effort_a": ("share", Decimal("0"), Decimal("1")),
    "effort_b": ("share", Decimal("0"), Decimal("1")),
    "effort_c": ("share", Decimal("0"), Decimal("1")),
    "effort_prospect": ("share", Decimal("0"), Decimal("1")),
    "deal_close_days": ("int", 1, 365),
    "deal_stale_days": ("int", 1, 365),
}
EFFORT_KEYS = ("effort_a", "effort_b", "effort_c", "effort_prospect")


def settings_values(row: OrgSettings) -> dict[str, Any]:
    return {key: getattr(row, key) for key in FIELDS}


def _parse(key: str, raw: Any) -> Any:
    kind, low, high = FIELDS[key]
    if kind == "time":
        if not isinstance(raw, str) or not _HHMM.match(raw):
            raise ValueError("must be a time HH:MM (24 h)")
        return raw
    if kind == "int":
        try:
            value: Any = int(str(raw).strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
    else:
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not value.is_finite():
            raise ValueError("must be a number")
    if not low <= value <= high:
        raise ValueError(_("must be between %(low)s and %(high)s", low=low, high=high))
    return value.quantize(Decimal("0.0001")) if kind in ("fraction", "share") else value


class CompanySettingsService(Service):
    async def settings_for(self, company_id: UUID) -> OrgSettings:
        """The company's row, created with the defaults when it has none yet."""
        row = (await company_settings(self.session, [company_id])).get(company_id)
        if row is None:
            row = OrgSettings(company_id=company_id)
            self.session.add(row)
            await self.session.flush()
        return row

    async def update(self, actor_id: UUID | None, company_id: UUID, changes: dict[str, Any]) -> OrgSettings:
        """Apply the sent keys (all checked first; one bad key changes nothing)."""
        row = await self.settings_for(company_id)
        errors: list[dict[str, str]] = []
        parsed: dict[str, Any] = {}
        for key, raw in changes.items():
            if key not in FIELDS:
                errors.append({"field": key, "message": _("unknown setting")})
                continue
            try:
                parsed[key] = _parse(key, raw)
            except ValueError as problem:
                errors.append({"field": key, "message": str(problem)})
        merged = settings_values(row) | parsed
        if not errors and not merged["pace_yellow"] < merged["pace_orange"] < merged["pace_red"]:
            errors.append(
                {"field": "pace_orange", "message": _("thresholds must rise: yellow < orange < red")}
            )
        if not errors and sum(merged[k] for k in EFFORT_KEYS) > 1:
            errors.append(
                {"field": "effort_a", "message": _("the effort shares must add up to 100% or less")}
            )
        if not errors and not merged["work_start"] < merged["work_end"]:
            errors.append({"field": "work_end", "message": _("the working day must end after it starts")})
        if errors:
            raise ProblemError(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)
        before = settings_values(row)
        for key, value in parsed.items():
            setattr(row, key, value)
        await self.session.flush()
        changed = {k: v for k, v in settings_values(row).items() if before[k] != v}
        if changed:
            await self.ctx.get(AuditService).record(
                actor_id, "settings.updated", "org_settings", row.id,
                before={k: before[k] for k in changed}, after=changed,
            )  # fmt: skip
        return row
