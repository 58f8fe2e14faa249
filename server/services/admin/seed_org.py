"""The demo organisation: company, regions across two continents, teams, managers and reps."""

from __future__ import annotations

import math
import uuid
from typing import Any

from server.services.admin.seed_world import World

REGIONS = (
    ("East China", "Asia/Shanghai", 31.2304, 121.4737, "Shanghai"),
    ("US West", "America/Los_Angeles", 34.0522, -118.2437, "Los Angeles"),
    ("North China", "Asia/Shanghai", 39.9042, 116.4074, "Beijing"),
    ("US East", "America/New_York", 40.7128, -74.0060, "New York"),
    ("South China", "Asia/Shanghai", 23.1291, 113.2644, "Guangzhou"),
    ("US Central", "America/Chicago", 41.8781, -87.6298, "Chicago"),
)
NAME_PARTS = (
    (
        "Golden",
        "Bright",
        "Pacific",
        "Summit",
        "Harbor",
        "Jade",
        "Silver",
        "Eastern",
        "Western",
        "Red",
        "Blue",
        "Green",
        "Lotus",
        "Pine",
        "River",
        "Lake",
        "Coastal",
        "Prime",
        "Union",
        "Star",
    ),
    (
        "Trading",
        "Foods",
        "Supplies",
        "Retail",
        "Pharmacy",
        "Hardware",
        "Electronics",
        "Market",
        "Wholesale",
        "Logistics",
        "Kitchen",
        "Garden",
        "Motors",
        "Textiles",
        "Print",
        "Office",
    ),
    ("Co.", "Ltd.", "Inc.", "Group", "Store", "Partners", "Depot", "Center"),
)


CHINA_TZ = "Asia/Shanghai"


def build_org(
    world: World, reps: int, reps_per_team: int, password_hash: str, chinese_in_china: bool
) -> None:
    rng = world.rng
    teams = max(2, math.ceil(reps / reps_per_team))
    region_count = min(len(REGIONS), max(2, math.ceil(teams / 4)))
    company_tz = "Asia/Shanghai"
    world.units.append(_unit(world.company_id, None, "Demo Trading Co.", "company", company_tz))
    admin = _user(
        world, "admin@demo.example", "Alex Admin", "admin", world.company_id, company_tz, password_hash
    )
    execu = _user(
        world, "exec@demo.example", "Erin Executive", "executive", world.company_id, company_tz, password_hash
    )
    world.users += [admin, execu]
    world.units[0]["manager_user_id"] = execu["id"]
    regions = []
    for index in range(region_count):
        name, tz, lat, lng, city = REGIONS[index]
        region_id = world.uid()
        director = _user(
            world,
            f"director{index + 1}@demo.example",
            f"Director {city}",
            "manager",
            region_id,
            tz,
            password_hash,
        )
        world.users.append(director)
        world.units.append(_unit(region_id, world.company_id, name, "region", tz, director["id"]))
        regions.append((region_id, tz, lat, lng, city))
    team_list = []
    for index in range(teams):
        region_id, tz, lat, lng, city = regions[index % region_count]
        team_id = world.uid()
        manager = _user(
            world,
            f"manager{index + 1}@demo.example",
            f"Manager {index + 1} ({city})",
            "manager",
            team_id,
            tz,
            password_hash,
        )
        world.users.append(manager)
        number = index // region_count + 1
        world.units.append(_unit(team_id, region_id, f"{city} Team {number}", "team", tz, manager["id"]))
        world.region_of_team[team_id] = region_id
        # Each team works its own district of the city.
        angle = rng.uniform(0, 2 * math.pi)
        center = (
            lat + 0.12 * math.sin(angle) * (number - 1 > 0),
            lng + 0.12 * math.cos(angle) * (number - 1 > 0),
        )
        team_list.append((team_id, tz, center))
    for index in range(reps):
        team_id, tz, (clat, clng) = team_list[index % teams]  # rep1 -> team 1, rep2 -> team 2
        rep = _user(
            world, f"rep{index + 1}@demo.example", f"Rep {index + 1}", "rep", team_id, tz, password_hash
        )
        rep["start_lat"] = round(clat + rng.gauss(0, 0.03), 6)
        rep["start_lng"] = round(clng + rng.gauss(0, 0.03), 6)
        world.users.append(rep)
        world.reps.append(rep)
        world.team_of_rep[rep["id"]] = team_id
    if chinese_in_china:
        for user in world.users:
            if user["timezone"] == CHINA_TZ and user["role"] != "admin":
                user["locale"] = "zh-CN"


def _unit(
    uid: uuid.UUID, parent: uuid.UUID | None, name: str, kind: str, tz: str, manager: uuid.UUID | None = None
) -> dict[str, Any]:
    return {
        "id": uid,
        "parent_id": parent,
        "name": name,
        "kind": kind,
        "timezone": tz,
        "manager_user_id": manager,
        "external_ref": None,
    }


def _user(
    world: World, email: str, name: str, role: str, unit: uuid.UUID, tz: str, password_hash: str
) -> dict[str, Any]:
    return {
        "id": world.uid(),
        "email": email,
        "name": name,
        "role": role,
        "org_unit_id": unit,
        "timezone": tz,
        "start_lat": None,
        "start_lng": None,
        "daily_capacity": 8,
        "locale": None,
        "password_hash": password_hash,
        "active": True,
    }
