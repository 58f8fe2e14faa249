"""The one org tree: walks up and down, the company of a unit, the manager above a unit."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID, uuid4

import pytest

from server.core.org import OrgTree, UnitInfo

COMPANY, REGION, TEAM, OTHER_TEAM, OTHER_COMPANY = (uuid4() for _ in range(5))
BOSS, DIRECTOR, LEAD, REP = (uuid4() for _ in range(4))


def tree() -> OrgTree:
    units = {
        COMPANY: UnitInfo(COMPANY, None, "Acme", "company", "Asia/Shanghai", BOSS),
        REGION: UnitInfo(REGION, COMPANY, "East", "region", "Asia/Shanghai", DIRECTOR),
        TEAM: UnitInfo(TEAM, REGION, "Team 1", "team", "Asia/Shanghai", LEAD),
        OTHER_TEAM: UnitInfo(OTHER_TEAM, REGION, "Team 2", "team", "Asia/Shanghai", None),
        OTHER_COMPANY: UnitInfo(OTHER_COMPANY, None, "Beta", "company", "Europe/Berlin", None),
    }
    children: dict[UUID, list[UUID]] = defaultdict(list)
    for unit in units.values():
        if unit.parent_id is not None:
            children[unit.parent_id].append(unit.id)
    return OrgTree(units, dict(children))


def test_ancestors_nearest_first_and_subtree_below() -> None:
    org = tree()
    assert org.ancestors(TEAM) == [TEAM, REGION, COMPANY]
    assert set(org.subtree(REGION)) == {REGION, TEAM, OTHER_TEAM}
    assert org.subtree(OTHER_COMPANY) == [OTHER_COMPANY]


@pytest.mark.parametrize(
    ("unit", "company"),
    [(TEAM, COMPANY), (REGION, COMPANY), (COMPANY, COMPANY), (OTHER_COMPANY, OTHER_COMPANY), (None, None)],
)
def test_company_of(unit: UUID | None, company: UUID | None) -> None:
    assert tree().company_of(unit) == company


@pytest.mark.parametrize(
    ("unit", "skip", "manager"),
    [
        (TEAM, (), LEAD),  # the team's own manager
        (TEAM, {LEAD}, DIRECTOR),  # a team lead's own escalation goes one up
        (OTHER_TEAM, (), DIRECTOR),  # a team without a manager: the region's
        (TEAM, {LEAD, DIRECTOR, BOSS}, None),  # nobody left
        (OTHER_COMPANY, (), None),
    ],
)
def test_manager_above(unit: UUID, skip: set[UUID], manager: UUID | None) -> None:
    assert tree().manager_above(unit, skip) == manager


def test_a_cycle_stops_the_walk() -> None:
    a, b = uuid4(), uuid4()
    org = OrgTree({a: UnitInfo(a, b, "A", "team", "UTC"), b: UnitInfo(b, a, "B", "team", "UTC")}, {})
    assert org.ancestors(a) == [a, b]
