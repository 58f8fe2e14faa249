"""The escalate sweep: pace findings -> open, worsen, climb and resolve escalations.

One sweep is set-based: pace for every rep and team comes from one ProgressService.for_queries
call (one question per metric and local date), every open escalation is loaded once, new ones are
inserted in bulk and their pushes queued in one batch.
It is safe to run in two processes at once: open rows are locked (FOR UPDATE on PostgreSQL, the
single writer lock on SQLite) and the partial unique index admits one open row per dedup key.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from server.core.gc_pause import paused_gc
from server.core.org import OrgTree, company_settings
from server.core.services import Service
from server.core.upsert import insert_or_skip
from server.db.id_lists import among
from server.db.models import Escalation, EscalationEvent
from server.domain.escalation import FORECAST_MISS, resolution_step
from server.domain.worktime import business_climb
from server.services.escalations.findings import SEVERITY_RANK, Finding, find_pace_problems
from server.services.escalations.forecast_findings import find_forecast_misses
from server.services.escalations.ladder import EscalationNotice, Ladder, notify_escalations
from server.services.org.worktime import WorkCalendar

PACE_RULES = ("pace_revenue", "pace_visits")
SWEPT_RULES = (*PACE_RULES, FORECAST_MISS)  # the rules this sweep opens and resolves
DEFAULT_CLIMB_HOURS = 24  # when a company has no org_settings row
_OPEN = Escalation.state != "resolved"
_INSERT_CHUNK = 500
_ID_CHUNK = 5000  # ids per IN list (SQLite's variable limit)
_DECIDING_COLUMNS = (
    Escalation.id,
    Escalation.dedup_key,
    Escalation.org_unit_id,
    Escalation.severity,
    Escalation.level,
    Escalation.state,
    Escalation.clear_count,
    Escalation.level_changed_at,
    Escalation.snapshot,
)


def climb_steps(hours: int) -> tuple[timedelta, ...]:
    """Cumulative unacknowledged business-hour waits after which an escalation has climbed 1, 2, 3 levels."""
    return tuple(timedelta(hours=hours * n) for n in (1, 2, 3))


class EscalationsService(Service):
    async def sweep(self) -> dict[str, int]:
        """Evaluate every pace rule and "projected to miss" once and move each escalation along the ladder."""
        with paused_gc():  # every rep and unit at once: server/core/gc_pause.py
            return await self._sweep()

    async def _sweep(self) -> dict[str, int]:
        now = self.clock.now()
        await self._take_writer_lock()
        ladder = await Ladder.load(self.session)
        findings = {f.key: f for f in await find_pace_problems(self.ctx, ladder.tree, now)}
        findings.update((f.key, f) for f in await find_forecast_misses(self.ctx, ladder.tree, now))
        climb_hours = await self._climb_hours(ladder.tree)
        counts: Counter[str] = Counter()
        notices: list[EscalationNotice] = []
        open_rows = await self._open_rows()
        calendar = await WorkCalendar.load(self.session, ladder.tree, {r.org_unit_id for r in open_rows}, now)
        # Most open escalations are simply still failing as before: those get one set-based
        # UPDATE; only the ones that move (worse, cleared, due to climb) are loaded as objects.
        moving: dict[UUID, Finding | None] = {}
        seen: list[UUID] = []
        refreshed: list[dict[str, Any]] = []
        for row in open_rows:
            finding = findings.pop(row.dedup_key, None)
            hours = climb_hours.get(ladder.tree.company_of(row.org_unit_id), DEFAULT_CLIMB_HOURS)
            if (
                finding is None
                or SEVERITY_RANK[finding.severity] > SEVERITY_RANK[row.severity]
                or (row.state == "open" and _climb_due(row, now, climb_steps(hours), calendar))
            ):
                moving[row.id] = finding
            elif row.clear_count or row.snapshot != finding.snapshot:
                refreshed.append({"_id": row.id, "snapshot": finding.snapshot})
            else:
                seen.append(row.id)
        await self._mark_seen(seen, refreshed, now)
        for escalation in await self._load(list(moving)):
            finding = moving[escalation.id]
            if finding is not None:
                self._still_failing(escalation, finding, now, counts, notices)
            else:
                self._cleared(escalation, now, counts)
            if escalation.state == "open" and escalation.clear_count == 0:
                company = ladder.tree.company_of(escalation.org_unit_id)
                hours = climb_hours.get(company, DEFAULT_CLIMB_HOURS)
                self._climb(escalation, now, climb_steps(hours), calendar, counts, notices)
        await self._open_new(list(findings.values()), now, counts, notices)
        await self.session.flush()
        counts["notified"] = await notify_escalations(self.ctx, ladder, notices)
        return dict(counts)

    async def _take_writer_lock(self) -> None:
        # SQLite has one writer: writing first makes a concurrent sweep wait for this one to
        # commit instead of failing later on a stale read snapshot. PostgreSQL locks rows instead.
        if self.session.get_bind().dialect.name == "sqlite":
            await self.session.execute(update(Escalation).where(text("0 = 1")).values(clear_count=0))

    async def _climb_hours(self, tree: OrgTree) -> dict[UUID | None, int]:
        """Hours before an open escalation climbs a rung, per company (core/org.py settings)."""
        found = await company_settings(self.session, tree.companies())
        return {company: max(1, row.escalation_climb_h) for company, row in found.items()}

    async def _open_rows(self) -> list[Any]:
        """The open escalations of the swept rules, only the columns the sweep decides on."""
        # Locked in id order so two sweeps never deadlock and the second sees the first's result.
        query = (
            select(*_DECIDING_COLUMNS)
            .where(_OPEN, Escalation.rule.in_(SWEPT_RULES))
            .order_by(Escalation.id)
            .with_for_update()
        )
        return list(await self.session.execute(query))

    async def _load(self, ids: list[UUID]) -> list[Escalation]:
        """The escalations that move this sweep, as objects (already locked by _open_rows)."""
        loaded: list[Escalation] = []
        for offset in range(0, len(ids), _ID_CHUNK):
            query = (
                select(Escalation)
                .where(among(Escalation.id, ids[offset : offset + _ID_CHUNK]))
                .order_by(Escalation.id)
                .execution_options(populate_existing=True)
            )
            loaded += await self.session.scalars(query)
        return loaded

    async def _mark_seen(self, seen: list[UUID], refreshed: list[dict[str, Any]], now: datetime) -> None:
        """Still failing: last seen now; a changed snapshot (and a reset clear count) written too."""
        table = Escalation.__table__
        for offset in range(0, len(seen), _ID_CHUNK):
            chunk = seen[offset : offset + _ID_CHUNK]
            await self.session.execute(update(table).where(among(table.c.id, chunk)).values(last_seen_at=now))
        if refreshed:
            statement = (
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values(snapshot=bindparam("snapshot"), clear_count=0, last_seen_at=now)
            )
            await self.session.execute(statement, refreshed)
        # Objects of these rows this session already holds mirror the UPDATEs (no second write).
        held = {o.id: o for o in self.session.identity_map.values() if isinstance(o, Escalation)}
        for escalation_id in seen:
            if escalation_id in held:
                set_committed_value(held[escalation_id], "last_seen_at", now)
        for values in refreshed:
            if values["_id"] in held:
                for name, value in (
                    ("snapshot", values["snapshot"]),
                    ("clear_count", 0),
                    ("last_seen_at", now),
                ):
                    set_committed_value(held[values["_id"]], name, value)

    def _still_failing(
        self,
        escalation: Escalation,
        finding: Finding,
        now: datetime,
        counts: Counter[str],
        notices: list[EscalationNotice],
    ) -> None:
        escalation.last_seen_at = now
        escalation.snapshot = finding.snapshot
        escalation.clear_count = 0
        if SEVERITY_RANK[finding.severity] <= SEVERITY_RANK[escalation.severity]:
            return  # severity and level never go down while open
        old_severity, old_level = escalation.severity, escalation.level
        escalation.severity = finding.severity
        # An acknowledgement covered the old severity; a worse one puts the ladder back in motion.
        escalation.state = "open"
        escalation.acknowledged_by = escalation.acknowledged_at = escalation.acknowledged_note = None
        new_level = max(old_level, int(finding.level))
        if new_level != old_level:
            escalation.level, escalation.level_changed_at = new_level, now
        self._event(
            escalation, now, "severity_changed", old_level, note=f"{old_severity} -> {finding.severity}"
        )
        counts["worsened"] += 1
        if new_level != old_level:
            notices.append(EscalationNotice.of(escalation, "worsened"))

    def _cleared(self, escalation: Escalation, now: datetime, counts: Counter[str]) -> None:
        clear_count, resolved = resolution_step(escalation.clear_count, condition_clear=True)
        escalation.clear_count = clear_count
        if resolved:
            escalation.state, escalation.resolved_at = "resolved", now
            self._event(escalation, now, "resolved", escalation.level)
            counts["resolved"] += 1

    def _climb(
        self,
        escalation: Escalation,
        now: datetime,
        steps: tuple[timedelta, ...],
        calendar: WorkCalendar,
        counts: Counter[str],
        notices: list[EscalationNotice],
    ) -> None:
        # The wait counts business hours of the subject's unit: weekends and holidays are free.
        unit = escalation.org_unit_id
        new_level, due_at = business_climb(
            escalation.level,
            escalation.level_changed_at,
            now,
            steps,
            calendar.tree.timezone(unit),
            calendar.holidays(unit),
        )
        if due_at is None:
            return
        old_level = escalation.level
        # Date the change to when it fell due, so the next step is timed from there even when a
        # sweep was missed and this one catches up several levels at once.
        escalation.level = new_level
        escalation.level_changed_at = due_at
        self._event(escalation, now, "climbed", old_level)
        counts["climbed"] += 1
        notices.append(EscalationNotice.of(escalation, "climbed"))

    async def _open_new(
        self, findings: list[Finding], now: datetime, counts: Counter[str], notices: list[EscalationNotice]
    ) -> None:
        if not findings:
            return
        resolved = await self._latest_resolved([f.key for f in findings])
        fresh: list[Finding] = []
        for finding in findings:
            previous = resolved.get(finding.key)
            if previous is None:
                fresh.append(finding)
            elif previous.resolved_by is not None and (
                SEVERITY_RANK[finding.severity] <= SEVERITY_RANK[previous.severity]
            ):
                counts["kept_resolved"] += 1  # a manager closed it; only a worse state re-raises it
            elif await self._reopen(previous, finding, now):
                counts["reopened"] += 1
                notices.append(EscalationNotice.of(previous, "reopened"))
        await self._insert(sorted(fresh, key=lambda f: f.key), now, counts, notices)

    async def _latest_resolved(self, keys: list[str]) -> dict[str, Escalation]:
        latest: dict[str, Escalation] = {}
        for offset in range(0, len(keys), _INSERT_CHUNK):
            query = (
                select(Escalation)
                .where(Escalation.dedup_key.in_(keys[offset : offset + _INSERT_CHUNK]), ~_OPEN)
                .order_by(Escalation.resolved_at)
            )
            latest.update({e.dedup_key: e for e in await self.session.scalars(query)})
        return latest

    async def _reopen(self, escalation: Escalation, finding: Finding, now: datetime) -> bool:
        """Re-arm the period's resolved escalation: one thread per subject and period."""
        values: dict[str, Any] = {
            "state": "open",
            "severity": finding.severity,
            "level": int(finding.level),
            "opened_at": now,
            "level_changed_at": now,
            "last_seen_at": now,
            "clear_count": 0,
            "snapshot": finding.snapshot,
            "acknowledged_by": None,
            "acknowledged_at": None,
            "acknowledged_note": None,
            "resolved_at": None,
            "resolved_by": None,
            "resolved_note": None,
        }
        try:
            async with self.session.begin_nested():
                result = await self.session.execute(
                    update(Escalation).where(Escalation.id == escalation.id, ~_OPEN).values(**values)
                )
        except IntegrityError:
            return False  # a concurrent sweep opened a new row for this key first
        if not cast(CursorResult, result).rowcount:
            return False
        for name, value in values.items():  # mirror the UPDATE without scheduling another one
            set_committed_value(escalation, name, value)
        self._event(escalation, now, "reopened", None)
        return True

    async def _insert(
        self, findings: list[Finding], now: datetime, counts: Counter[str], notices: list[EscalationNotice]
    ) -> None:
        table = Escalation.__table__
        # ON CONFLICT on the partial index: a key opened meanwhile by another sweep is skipped.
        # Run with a list of rows: one statement compiled once, sent as multi-row pages (a
        # multi-row .values() would be compiled anew every sweep).
        stmt = insert_or_skip(
            self.session, table, ["dedup_key"], index_where=text("state <> 'resolved'")
        ).returning(table.c.id, table.c.dedup_key)
        for offset in range(0, len(findings), _INSERT_CHUNK):
            rows = {
                row["dedup_key"]: row
                for row in (_new_row(f, now) for f in findings[offset : offset + _INSERT_CHUNK])
            }
            for _id, key in (await self.session.execute(stmt, list(rows.values()))).all():
                escalation = Escalation(**rows[key])  # transient: carries the values to event and notice
                self._event(escalation, now, "opened", None)
                counts["opened"] += 1
                notices.append(EscalationNotice.of(escalation, "opened"))

    def _event(
        self,
        escalation: Escalation,
        now: datetime,
        event: str,
        from_level: int | None,
        note: str | None = None,
    ) -> None:
        self.session.add(
            EscalationEvent(
                escalation_id=escalation.id,
                at=now,
                event=event,
                from_level=from_level,
                to_level=escalation.level,
                severity=escalation.severity,
                note=note,
            )
        )


def _climb_due(row: Any, now: datetime, steps: tuple[timedelta, ...], calendar: WorkCalendar) -> bool:
    """Whether an open escalation, still failing at its severity, climbs a rung now."""
    unit = row.org_unit_id
    _level, due_at = business_climb(
        row.level, row.level_changed_at, now, steps, calendar.tree.timezone(unit), calendar.holidays(unit)
    )
    return due_at is not None


def _new_row(finding: Finding, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "rule": finding.rule,
        "subject_type": finding.subject_type,
        "subject_id": finding.subject_id,
        "org_unit_id": finding.org_unit_id,
        "severity": finding.severity,
        "level": int(finding.level),
        "state": "open",
        "dedup_key": finding.key,
        "opened_at": now,
        "level_changed_at": now,
        "last_seen_at": now,
        "clear_count": 0,
        "snapshot": finding.snapshot,
    }
