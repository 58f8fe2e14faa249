"""Users an admin manages: create, edit, move between teams, deactivate, reset password.

Every change is audited in the same transaction. Moving a rep and deactivating anyone make the
consequences for their customers and open tasks explicit: the caller chooses, the answer counts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update

from server.core.access import Scope
from server.core.audit import AuditService
from server.core.errors import field_error, not_found
from server.core.i18n import gettext as _
from server.core.i18n import normalize
from server.core.services import Service
from server.db.models import AuthToken, Customer, OrgUnit, Task, User
from server.db.models.users import ROLES
from server.services.auth.accounts import hash_password, token_digest
from server.services.auth.passwords import check_password

SET_PASSWORD_KIND = "setpw"  # an AuthToken that only opens the set-password page
SET_PASSWORD_HOURS = 72
OPEN_TASK_STATES = ("planned", "snoozed")
CUSTOMER_CHOICES = ("move_with_rep", "hand_over")
EDITABLE = ("name", "role", "timezone", "locale", "daily_capacity", "start_lat", "start_lng",
            "notifications_enabled")  # fmt: skip


def check_timezone(tz: str, name: str = "timezone") -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise field_error(
            name, _("%(tz)s is not an IANA time zone (e.g. Asia/Shanghai)", tz=repr(tz))
        ) from None
    return tz


def check_locale(locale: str | None) -> str | None:
    if locale in (None, ""):
        return None
    if normalize(locale) is None:
        raise field_error("locale", _("must be en or zh-CN"))
    return "zh-CN" if normalize(locale) == "zh_Hans" else "en"


@dataclass
class Consequences:
    """What a move or a deactivation did to the user's customers, tasks and sessions."""

    customers_moved: int = 0
    customers_handed_over: int = 0
    tasks_closed: int = 0
    sessions_revoked: int = 0
    successor_id: UUID | None = None
    set_password_link: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class UsersService(Service):
    async def list(self, access: Scope, q: str | None = None, include_inactive: bool = True) -> list[User]:
        query = select(User).order_by(User.name)
        if not access.principal.role == "admin":
            query = query.where(access.user_clause(User.id))
        if q:
            like = f"%{q.lower()}%"
            query = query.where(func.lower(User.name).like(like) | func.lower(User.email).like(like))
        if not include_inactive:
            query = query.where(User.active.is_(True))
        return list((await self.session.scalars(query)).all())

    async def get(self, access: Scope, user_id: UUID) -> User:
        user = await self.session.get(User, user_id)
        if user is None or not (
            access.principal.role == "admin" or access.sees_user(user.id, user.org_unit_id)
        ):
            raise not_found("User", user_id)
        return user

    async def get_self(self, user_id: UUID) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise not_found("User", user_id)
        return user

    async def open_work(self, user_id: UUID) -> dict[str, int]:
        """How many customers the user owns and how many open tasks they have from today on."""
        customers = await self.session.scalar(
            select(func.count()).select_from(Customer).where(Customer.owner_rep_id == user_id)
        )
        tasks = await self.session.scalar(
            select(func.count())
            .select_from(Task)
            .where(*self._open_tasks(user_id, await self._today(user_id)))
        )
        return {"customers": int(customers or 0), "open_tasks": int(tasks or 0)}

    async def create(
        self,
        actor_id: UUID | None,
        *,
        email: str,
        name: str,
        role: str,
        org_unit_id: UUID | None,
        timezone: str | None = None,
        locale: str | None = None,
        daily_capacity: int = 8,
        password: str | None = None,
        start_lat: float | None = None,
        start_lng: float | None = None,
    ) -> tuple[User, str | None]:
        """The new user and, without a password, a one-time set-password link."""
        email = email.strip().lower()
        if "@" not in email or len(email) > 320 or email.startswith("@"):
            raise field_error("email", _("is not an e-mail address"))
        if await self.session.scalar(select(User.id).where(func.lower(User.email) == email)):
            raise field_error("email", _("is already used by another user"), 409)
        if not name.strip():
            raise field_error("name", _("is required"))
        if role not in ROLES:
            raise field_error("role", _("must be one of %(choices)s", choices=", ".join(ROLES)))
        unit = await self._unit(org_unit_id)
        if password is not None:
            check_password(password, email)
        user = User(
            email=email,
            name=name.strip()[:200],
            role=role,
            org_unit_id=unit.id,
            timezone=check_timezone(timezone or unit.timezone),
            locale=check_locale(locale),
            daily_capacity=_capacity(daily_capacity),
            start_lat=start_lat,
            start_lng=start_lng,
            password_hash=hash_password(password) if password else None,
            active=True,
            notifications_enabled=True,
        )
        self.session.add(user)
        await self.session.flush()
        link = None if password else await self.set_password_link(user)
        await self.ctx.get(AuditService).record(
            actor_id, "user.created", "user", user.id, after=_public(user) | {"invited": link is not None}
        )
        return user, link

    async def update(self, actor_id: UUID | None, user: User, changes: dict[str, Any]) -> User:
        """Edit the fields in EDITABLE (a team move goes through `move`)."""
        before = _public(user)
        if "name" in changes:
            if not str(changes["name"]).strip():
                raise field_error("name", _("is required"))
            changes["name"] = str(changes["name"]).strip()[:200]
        if "role" in changes and changes["role"] not in ROLES:
            raise field_error("role", _("must be one of %(choices)s", choices=", ".join(ROLES)))
        if "timezone" in changes:
            check_timezone(changes["timezone"])
        if "locale" in changes:
            changes["locale"] = check_locale(changes["locale"])
        if "daily_capacity" in changes:
            changes["daily_capacity"] = _capacity(changes["daily_capacity"])
        for key in EDITABLE:
            if key in changes:
                setattr(user, key, changes[key])
        await self.session.flush()
        if _public(user) != before:
            await self.ctx.get(AuditService).record(
                actor_id, "user.updated", "user", user.id, before, _public(user)
            )
        return user

    async def move(
        self, actor_id: UUID | None, user: User, org_unit_id: UUID, customers: str | None,
        successor_id: UUID | None = None,
    ) -> Consequences:  # fmt: skip
        """Move the user to another unit. A rep's customers either move with them
        (`move_with_rep`: they follow to the new team) or stay (`hand_over` to a named successor
        in the old team, with the open tasks for them closed so the successor's planner takes
        them). A rep with customers must say which."""
        unit = await self._unit(org_unit_id)
        result = Consequences()
        if unit.id == user.org_unit_id:
            return result
        work = await self.open_work(user.id)
        if work["customers"] and customers not in CUSTOMER_CHOICES:
            raise field_error(
                "customers",
                _(
                    "this user owns %(customers)s customer(s) and has %(tasks)s open task(s): choose %(choices)s",
                    customers=work["customers"],
                    tasks=work["open_tasks"],
                    choices=" or ".join(CUSTOMER_CHOICES),
                ),
            )
        before = _public(user)
        if work["customers"] and customers == "move_with_rep":
            moved = await self.session.execute(
                update(Customer).where(Customer.owner_rep_id == user.id).values(org_unit_id=unit.id)
            )
            result.customers_moved = int(moved.rowcount or 0)  # type: ignore[attr-defined]
        elif work["customers"]:
            successor = await self._successor(user, successor_id)
            result = await self._hand_over(user, successor)
        user.org_unit_id = unit.id
        await self._clear_managed_units(user.id, None)
        await self.session.flush()
        await self.ctx.get(AuditService).record(
            actor_id, "user.moved", "user", user.id, before, _public(user) | _counts(result)
        )
        return result

    async def deactivate(self, actor_id: UUID | None, user: User, successor_id: UUID | None) -> Consequences:
        """Sign the user out everywhere now; their customers and managed units go to the successor."""
        if actor_id == user.id:
            raise field_error("active", _("you cannot deactivate yourself"))
        work = await self.open_work(user.id)
        managed = await self.session.scalar(
            select(func.count()).select_from(OrgUnit).where(OrgUnit.manager_user_id == user.id)
        )
        result = Consequences()
        if work["customers"] or managed or successor_id:
            successor = await self._successor(user, successor_id)
            result = await self._hand_over(user, successor)
            await self._clear_managed_units(user.id, successor.id)
        else:
            result.tasks_closed = await self._close_tasks(user.id, None)
        result.sessions_revoked = await self.revoke_tokens(user.id)
        user.active = False
        await self.session.flush()
        await self.ctx.get(AuditService).record(
            actor_id,
            "user.deactivated",
            "user",
            user.id,
            {"active": True},
            {"active": False} | _counts(result),
        )
        return result

    async def reactivate(self, actor_id: UUID | None, user: User) -> User:
        user.active = True
        await self.session.flush()
        await self.ctx.get(AuditService).record(
            actor_id, "user.reactivated", "user", user.id, {"active": False}, {"active": True}
        )
        return user

    async def reset_password(
        self, actor_id: UUID | None, user: User, password: str | None, current_token: str = ""
    ) -> str | None:
        """Set a new password (or issue a set-password link); every session of the user ends, except,
        when an admin resets their own, the one they are using (`current_token`, its digest): the
        admin is not signed out mid-action, and their other devices are."""
        if password is not None:
            check_password(password, user.email)
        await self.revoke_tokens(user.id, keep=current_token if actor_id == user.id else "")
        user.password_hash = hash_password(password) if password else None
        link = None if password else await self.set_password_link(user)
        await self.session.flush()
        await self.ctx.get(AuditService).record(
            actor_id, "user.password_reset", "user", user.id, after={"link": link is not None}
        )
        return link

    async def set_password_link(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        self.session.add(AuthToken(token_hash=token_digest(token), user_id=user.id, kind=SET_PASSWORD_KIND,
                                   created_at=now, expires_at=now + timedelta(hours=SET_PASSWORD_HOURS)))  # fmt: skip
        await self.session.flush()
        return f"/set-password?token={token}"

    async def user_for_link(self, token: str) -> User | None:
        row = await self.session.scalar(
            select(AuthToken).where(
                AuthToken.token_hash == token_digest(token), AuthToken.kind == SET_PASSWORD_KIND,
                AuthToken.revoked_at.is_(None), AuthToken.expires_at > self.clock.now(),
            )
        )  # fmt: skip
        user = await self.session.get(User, row.user_id) if row else None
        return user if user is not None and user.active else None

    async def set_password_with_link(self, token: str, password: str) -> User:
        user = await self.user_for_link(token)
        if user is None:
            raise field_error(
                "token", "this link is invalid, used or expired; ask your admin for a new one", 400
            )
        check_password(password, user.email)
        user.password_hash = hash_password(password)
        await self.revoke_tokens(user.id)  # the link is single use; older sessions end too
        await self.ctx.get(AuditService).record(user.id, "user.password_set", "user", user.id)
        return user

    async def revoke_tokens(self, user_id: UUID, keep: str = "") -> int:
        """End every live token of the user but `keep` (a token digest), if given."""
        live = (AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
        kept = (AuthToken.token_hash != keep,) if keep else ()
        revoked = await self.session.execute(
            update(AuthToken).where(*live, *kept).values(revoked_at=self.clock.now())
        )
        return int(revoked.rowcount or 0)  # type: ignore[attr-defined]

    async def _hand_over(self, user: User, successor: User) -> Consequences:
        handed = await self.session.execute(
            update(Customer)
            .where(Customer.owner_rep_id == user.id)
            .values(owner_rep_id=successor.id, org_unit_id=successor.org_unit_id)
        )
        closed = await self._close_tasks(user.id, "reassigned")
        return Consequences(
            customers_handed_over=int(handed.rowcount or 0),  # type: ignore[attr-defined]
            tasks_closed=closed,
            successor_id=successor.id,
        )

    async def _close_tasks(self, user_id: UUID, reason: str | None) -> int:
        closed = await self.session.execute(
            update(Task)
            .where(*self._open_tasks(user_id, await self._today(user_id)))
            .values(
                status="skipped", status_reason=reason or "deactivated", status_changed_at=self.clock.now()
            )
        )
        return int(closed.rowcount or 0)  # type: ignore[attr-defined]

    def _open_tasks(self, user_id: UUID, today: Any) -> tuple[Any, ...]:
        return (Task.rep_id == user_id, Task.status.in_(OPEN_TASK_STATES), Task.local_date >= today)

    async def _today(self, user_id: UUID) -> Any:
        tz = await self.session.scalar(select(User.timezone).where(User.id == user_id))
        return self.clock.local_date(tz or "UTC")

    async def _clear_managed_units(self, user_id: UUID, successor_id: UUID | None) -> None:
        await self.session.execute(
            update(OrgUnit).where(OrgUnit.manager_user_id == user_id).values(manager_user_id=successor_id)
        )

    async def _successor(self, user: User, successor_id: UUID | None) -> User:
        if successor_id is None:
            raise field_error("successor_id", _("name the active user who takes over this user's customers"))
        successor = await self.session.get(User, successor_id)
        if successor is None or not successor.active or successor.id == user.id:
            raise field_error("successor_id", _("must be another active user"))
        return successor

    async def _unit(self, org_unit_id: UUID | None) -> OrgUnit:
        unit = await self.session.get(OrgUnit, org_unit_id) if org_unit_id else None
        if unit is None:
            raise field_error("org_unit_id", _("no such org unit"))
        return unit


def _capacity(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 30:
        raise field_error("daily_capacity", _("must be a whole number from 1 to 30"))
    return value


def _public(user: User) -> dict[str, Any]:
    return {
        "email": user.email, "name": user.name, "role": user.role, "org_unit_id": user.org_unit_id,
        "timezone": user.timezone, "locale": user.locale, "daily_capacity": user.daily_capacity,
        "active": user.active, "notifications_enabled": user.notifications_enabled,
    }  # fmt: skip


def _counts(result: Consequences) -> dict[str, Any]:
    return {
        "customers_moved": result.customers_moved,
        "customers_handed_over": result.customers_handed_over,
        "tasks_closed": result.tasks_closed,
        "successor_id": result.successor_id,
    }
