"""Managers' morning digests: one per manager per local day, past 07:30 local, one push each.

The sweep is idempotent: the digests table is unique on (manager_id, local_date) and rows are
inserted with ON CONFLICT DO NOTHING, so a second process or a re-run adds nothing and pushes
nothing. The content is stored, so the page shows the morning's picture, not today's drift.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, tuple_

from server.core import i18n
from server.core.i18n import gettext as _
from server.core.i18n import ngettext
from server.core.org import OrgTree
from server.core.services import Service
from server.core.upsert import insert_or_skip
from server.db.models import Digest, User
from server.services.escalations.digest_content import DueManager, build_contents
from server.services.notifications.outbox import NotificationsService

DIGEST_TIME = time(7, 30)  # local time after which a manager's digest is due


class DigestsService(Service):
    async def sweep(self) -> dict[str, int]:
        """Write and announce today's digest for every manager past 07:30 local who has none."""
        now = self.clock.now()
        due = await self._due_managers(now)
        if not due:
            return {"digests": 0}
        tree = await OrgTree.load(self.session)
        contents = await build_contents(self.ctx, tree, due, now)
        created = await self._insert(due, contents, now)
        locales = dict(
            (await self.session.execute(select(User.id, User.locale).where(User.id.in_([m.id for m in due]))))
            .tuples()
            .all()
        )
        for manager in due:
            if (manager.id, manager.local_date) in created:
                await self._announce(manager, contents[manager.id], locales.get(manager.id))
        return {"digests": len(created), "due": len(due)}

    async def get(self, manager_id: UUID, day: date) -> Digest | None:
        """The manager's own digest for a local date (digests are never shown to anyone else)."""
        return await self.session.scalar(
            select(Digest).where(Digest.manager_id == manager_id, Digest.local_date == day)
        )

    async def recent(self, manager_id: UUID, limit: int = 30) -> list[Digest]:
        query = (
            select(Digest)
            .where(Digest.manager_id == manager_id)
            .order_by(Digest.local_date.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def _due_managers(self, now: datetime) -> list[DueManager]:
        managers = (
            await self.session.execute(
                select(User.id, User.name, User.org_unit_id, User.timezone).where(
                    User.role == "manager", User.active.is_(True), User.org_unit_id.is_not(None)
                )
            )
        ).all()
        candidates = []
        for m in managers:
            local_now = now.astimezone(_zone(m.timezone))
            if local_now.time() >= DIGEST_TIME:
                candidates.append((m, local_now.date()))
        if not candidates:
            return []
        keys = [(m.id, day) for m, day in candidates]
        done = set(
            (
                await self.session.execute(
                    select(Digest.manager_id, Digest.local_date).where(
                        tuple_(Digest.manager_id, Digest.local_date).in_(keys)
                    )
                )
            )
            .tuples()
            .all()
        )
        pending = [(m, day) for m, day in candidates if (m.id, day) not in done]
        last = dict(
            (
                await self.session.execute(
                    select(Digest.manager_id, func.max(Digest.created_at))
                    .where(Digest.manager_id.in_([m.id for m, _day in pending]))
                    .group_by(Digest.manager_id)
                )
            )
            .tuples()
            .all()
        )
        return [
            DueManager(
                m.id, m.name, m.org_unit_id, m.timezone, day, last.get(m.id) or now - timedelta(days=1)
            )
            for m, day in pending
        ]

    async def _insert(
        self, due: list[DueManager], contents: dict[UUID, dict[str, Any]], now: datetime
    ) -> set[tuple[UUID, date]]:
        rows = [
            {
                "id": uuid4(),
                "manager_id": m.id,
                "local_date": m.local_date,
                "created_at": now,
                "content": contents[m.id],
            }
            for m in sorted(due, key=lambda m: str(m.id))
        ]
        stmt = (
            insert_or_skip(self.session, Digest, ["manager_id", "local_date"])
            .values(rows)
            .returning(Digest.manager_id, Digest.local_date)
        )
        return set((await self.session.execute(stmt)).tuples().all())

    async def _announce(self, manager: DueManager, content: dict[str, Any], locale: str | None) -> None:
        """One push per digest, linking to its page: never one push per event."""
        token = i18n.current_locale.set(i18n.normalize(locale or "") or "en")
        try:
            title, body = digest_message(content)
        finally:
            i18n.current_locale.reset(token)
        day = manager.local_date.isoformat()
        await self.ctx.get(NotificationsService).notify(
            manager.id,
            "digest",
            title,
            body,
            f"digest:{manager.id}:{day}",
            url=f"/digests/{day}",
            tag="digest",
            data={"local_date": day},
        )


def digest_message(content: dict[str, Any]) -> tuple[str, str]:
    """The push text: the morning's counts in one line."""
    escalations = len(content["escalations"])
    overdue = len(content["overdue"])
    planned = sum(row["planned"] for row in content["visits"])
    done = sum(row["done"] for row in content["visits"])
    parts = [
        ngettext("%(num)d escalation change", "%(num)d escalation changes", escalations),
        ngettext("%(num)d rep with overdue tasks", "%(num)d reps with overdue tasks", overdue),
        _("%(done)d of %(planned)d visits done yesterday", done=done, planned=planned),
    ]
    return _("Your morning digest"), " · ".join(parts)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def pace_cell_figures(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored pace cell with its numbers as Decimal, for the formatting filters."""
    if cell is None:
        return None
    numbers = ("pace", "actual", "expected", "target", "projection")
    return {**cell, **{k: None if cell.get(k) is None else Decimal(str(cell[k])) for k in numbers}}
