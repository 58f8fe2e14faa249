"""Four eyes: nobody approves their own plan or adjustment.

A manager's submission is decided by an executive or an admin; an executive's own submission
by another executive or an admin, as `PLAN_EXEC_SUBMISSION_APPROVERS` says ("executive,admin",
"executive" or "admin").
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.core.access import Principal
from server.core.errors import ProblemError
from server.db.models import User

APPROVER_ROLES = frozenset({"executive", "admin"})


def exec_submission_approvers(settings: Settings) -> frozenset[str]:
    roles = {r.strip() for r in settings.plan_exec_submission_approvers.split(",") if r.strip()}
    return frozenset(roles & APPROVER_ROLES) or APPROVER_ROLES


async def check_four_eyes(
    session: AsyncSession, settings: Settings, principal: Principal, submitters: set[UUID | None], what: str
) -> None:
    """403 when the approver submitted (or requested) it, or may not decide an executive's own."""
    if principal.id in submitters:
        raise ProblemError(
            403,
            f"You submitted this {what}; another executive or an admin decides it (four eyes).",
            [{"field": "approver", "message": "the submitter cannot approve their own " + what}],
        )
    ids = [s for s in submitters if s is not None]
    if not ids:
        return
    roles = set((await session.scalars(select(User.role).where(User.id.in_(ids)))).all())
    if "executive" in roles and principal.role not in exec_submission_approvers(settings):
        allowed = " or ".join(sorted(exec_submission_approvers(settings)))
        raise ProblemError(
            403,
            f"An executive submitted this {what}; it goes to another {allowed}.",
            [{"field": "approver", "message": f"must be {allowed}"}],
        )
