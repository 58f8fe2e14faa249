"""Ranking and routing the open tasks of a rep's day: the new rows and the tasks kept on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from server.domain.day_inputs import CustomersById, DayTask
from server.domain.routing import LatLng, route_legs

ROUTED_KINDS = ("visit", "follow_up", "collect")  # kinds done at the customer's door
OPEN_STATUSES = ("planned", "snoozed")  # still to do today: ranked and routed


def rank_and_route(
    start: LatLng | None,
    rows: list[dict[str, Any]],
    day_tasks: Sequence[DayTask],
    customers: CustomersById,
    coords: dict[UUID, LatLng],
) -> float:
    """Rank open tasks by score and give them a route order from the rep's start point.

    Stops at a customer's door are routed (nearest neighbour + 2-opt); calls and tasks without
    coordinates follow in rank order. distance_m is the leg from the previous stop. Coordinates
    are the customer's, else those loaded for kept tasks (`coords`).
    Returns the route's length in metres.
    """
    existing = {t.id: t for t in day_tasks if t.status in OPEN_STATUSES}
    # Higher score first; the id breaks ties as its text would (a UUID's text is its int in hex).
    entries: list[tuple[float, int, str, UUID | None, dict[str, Any] | DayTask]] = [
        (-row["score"], row["id"].int, row["kind"], row["customer_id"], row) for row in rows
    ]
    entries += [(-t.score, t.id.int, t.kind, t.customer_id, t) for t in existing.values()]
    entries.sort()  # (-score, id) differs for every task
    stops: list[tuple[int, float | None, float | None]] = []  # by the entry's index
    for index, (_, _, kind, customer_id, _) in enumerate(entries):
        if kind not in ROUTED_KINDS:
            continue
        customer = customers.get(customer_id)
        if customer is not None and customer.lat is not None and customer.lng is not None:
            stops.append((index, customer.lat, customer.lng))
        elif customer_id in coords:
            stops.append((index, *coords[customer_id]))
    route_orders: list[int | None] = [None] * len(entries)
    distances: list[float | None] = [None] * len(entries)
    total = 0.0
    position = 0
    for position, (index, leg) in enumerate(route_legs(start, stops), start=1):
        route_orders[index] = position
        distances[index] = round(leg, 1) if leg is not None else None
        total += leg or 0.0
    for rank, entry in enumerate(entries, start=1):
        route_order = route_orders[rank - 1]
        if route_order is None:  # not routed: after the route, in rank order
            position += 1
            route_order = position
        target = entry[4]
        if isinstance(target, dict):
            target["rank"], target["route_order"], target["distance_m"] = (
                rank,
                route_order,
                distances[rank - 1],
            )
        else:
            target.rank, target.route_order, target.distance_m = rank, route_order, distances[rank - 1]
    return total
