"""The org tree's two recursive reads, built once and bound per call (server/core/org.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.org import OrgTree, company_id_for_unit, subtree_unit_ids
from server.db.models import OrgUnit
from tests.conftest import Demo


async def test_every_units_subtree_and_company_match_the_tree(session: AsyncSession, demo: Demo) -> None:
    tree = await OrgTree.load(session)
    units = (await session.scalars(select(OrgUnit))).all()
    assert len(units) > 5  # the demo's company, regions and teams
    for unit in units:
        below = {u.id for u in units if unit.id in tree.ancestors(u.id)}
        assert set(await subtree_unit_ids(session, unit.id)) == below | {unit.id}, unit.name
        assert await company_id_for_unit(session, unit.id) == demo.company_id, unit.name
