"""Who may see what. Every query is scoped through these helpers (DESIGN.md §7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import ColumnElement, SQLColumnExpression, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.org import subtree_unit_ids
from server.db.models import Customer, User


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, detached from any session."""

    id: UUID
    email: str
    name: str
    role: str
    org_unit_id: UUID | None
    timezone: str
    locale: str | None
    csrf_token: str = ""
    auth: str = "session"  # session | bearer
    # The digest of the token this request came with: kept when the caller resets their own password.
    token_digest: str = ""

    @property
    def is_rep(self) -> bool:
        return self.role == "rep"

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def is_executive(self) -> bool:
        return self.role in ("executive", "admin")


@dataclass
class Scope:
    """The caller's visible world: a rep sees themself; others see their unit's subtree."""

    principal: Principal
    unit_ids: frozenset[UUID] = field(default_factory=frozenset)

    @classmethod
    async def load(cls, session: AsyncSession, principal: Principal) -> Scope:
        # Reps are scoped to themselves, so they never need the subtree query.
        if principal.org_unit_id is None or principal.is_rep:
            return cls(principal, frozenset())
        units = await subtree_unit_ids(session, principal.org_unit_id)
        return cls(principal, frozenset(units))

    def user_clause(self, user_id_col: SQLColumnExpression[UUID | None]) -> ColumnElement[bool]:
        """Filter for a column holding a rep's/user's id (tasks.rep_id, checkins.rep_id...)."""
        if self.principal.is_rep:
            return user_id_col == self.principal.id
        if not self.unit_ids:
            return false()
        users_in_scope = select(User.id).where(User.org_unit_id.in_(self.unit_ids))
        return user_id_col.in_(users_in_scope)

    def unit_clause(self, unit_id_col: SQLColumnExpression[UUID | None]) -> ColumnElement[bool]:
        """Filter for a column holding an org unit id."""
        if self.principal.is_rep:
            return unit_id_col == self.principal.org_unit_id
        return unit_id_col.in_(self.unit_ids) if self.unit_ids else false()

    def customer_clause(self, customer_model: type[Customer]) -> ColumnElement[bool]:
        """Reps see customers they own; managers and executives those of their subtree."""
        if self.principal.is_rep:
            return customer_model.owner_rep_id == self.principal.id
        if not self.unit_ids:
            return false()
        return customer_model.org_unit_id.in_(self.unit_ids)

    def sees_customer(self, owner_rep_id: UUID | None, org_unit_id: UUID | None) -> bool:
        """customer_clause in Python, for a customer row already loaded."""
        if self.principal.is_rep:
            return owner_rep_id == self.principal.id
        return org_unit_id in self.unit_ids

    def sees_unit(self, unit_id: UUID | None) -> bool:
        if self.principal.is_rep:
            return unit_id is not None and unit_id == self.principal.org_unit_id
        return unit_id in self.unit_ids

    def sees_user(self, user_id: UUID, user_unit_id: UUID | None) -> bool:
        if self.principal.is_rep:
            return user_id == self.principal.id
        return user_id == self.principal.id or (user_unit_id in self.unit_ids)

    @staticmethod
    def everything() -> ColumnElement[bool]:
        return true()
