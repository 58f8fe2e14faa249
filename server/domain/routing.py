"""Visit order: nearest neighbour from the rep's start point, then 2-opt, as an open path.

Open path: the rep does not return home, so the last leg is not counted. For 8-20 stops the
distance matrix and 2-opt passes are a few thousand float operations.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from itertools import pairwise
from math import asin, cos, radians, sin, sqrt
from typing import TypeVar

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
_MAX_PASSES = 100  # 2-opt converges in a handful of passes at this size; this is a safety stop

Id = TypeVar("Id", bound=Hashable)
LatLng = tuple[float, float]


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    phi1, phi2 = radians(lat1), radians(lat2)
    d_phi, d_lambda = phi2 - phi1, radians(lng2 - lng1)
    h = sin(d_phi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(h)))


def distance_matrix(points: Sequence[LatLng]) -> list[list[float]]:
    """haversine_m between every two points, bit for bit the same values: the same operations,
    with each point's radians and cosine worked out once rather than for every pair.

    Each pair is worked out once: from b to a, every difference is the negated one from a to b
    (exactly, in floating point), and squaring the sines of the negated halves (sin is odd)
    gives the same terms.
    """
    phis = [radians(lat) for lat, _ in points]
    cosines = [cos(phi) for phi in phis]
    located = list(zip(phis, cosines, [lng for _, lng in points], strict=True))
    two_r = 2 * EARTH_RADIUS_M
    matrix = [[0.0] * len(points) for _ in points]
    for i, (phi1, cos1, lng1) in enumerate(located):
        row = matrix[i]
        for j in range(i + 1, len(located)):
            phi2, cos2, lng2 = located[j]
            h = sin((phi2 - phi1) / 2) ** 2 + cos1 * cos2 * sin(radians(lng2 - lng1) / 2) ** 2
            root = sqrt(h)
            row[j] = matrix[j][i] = two_r * asin(root if root < 1.0 else 1.0)  # min(1.0, root)
    return matrix


def route_length_m(start: LatLng | None, points: Sequence[LatLng]) -> float:
    """Length of the open path start -> points[0] -> ... -> points[-1]."""
    path = ([start] if start is not None else []) + list(points)
    return sum(haversine_m(*a, *b) for a, b in pairwise(path))


def _split(
    stops: Sequence[tuple[Id, float | None, float | None]],
) -> tuple[list[tuple[Id, LatLng]], list[Id]]:
    located: list[tuple[Id, LatLng]] = []
    unlocated: list[Id] = []
    for stop_id, lat, lng in stops:
        if lat is None or lng is None:
            unlocated.append(stop_id)
        else:
            located.append((stop_id, (lat, lng)))
    return located, unlocated


def _nearest_neighbour_path(dist: list[list[float]]) -> list[int]:
    """Greedy path over point indices, starting at index 0 (the start point or first stop)."""
    path = [0]
    remaining = list(range(1, len(dist)))
    while remaining:
        here = path[-1]
        # min() keeps the first of equal distances: ties go to the earlier stop in the input.
        nearest = min(remaining, key=dist[here].__getitem__)
        path.append(nearest)
        remaining.remove(nearest)
    return path


def _two_opt(path: list[int], dist: list[list[float]], first_movable: int) -> list[int]:
    """Reverse segments while that shortens the open path; never returns a longer path."""
    path = list(path)
    n = len(path)
    for _ in range(_MAX_PASSES):
        improved = False
        for i in range(first_movable, n - 1):
            into = dist[path[i - 1]] if i > 0 else None  # from the point before i: fixed for this i
            for k in range(i + 1, n):
                # Reversing path[i..k] changes only the edge into i and the edge out of k.
                before = after = 0.0
                if into is not None:  # 0.0 + d is d: no distance is -0.0
                    before, after = into[path[i]], into[path[k]]
                if k < n - 1:
                    following = path[k + 1]
                    before += dist[path[k]][following]
                    after += dist[path[i]][following]
                if after < before - 1e-6:
                    path[i : k + 1] = reversed(path[i : k + 1])
                    improved = True
        if not improved:
            break
    return path


def _plan(
    start: LatLng | None,
    stops: Sequence[tuple[Id, float | None, float | None]],
    improve: bool,
) -> tuple[list[tuple[Id, float | None]], list[Id]]:
    """The located stops in visit order, each with its leg from the point before it (None for
    the first without a start point), and the stops without coordinates."""
    located, unlocated = _split(stops)
    if not located:
        return [], unlocated
    points = ([start] if start is not None else []) + [p for _, p in located]
    dist = distance_matrix(points)
    fixed_first = start is not None
    path = _nearest_neighbour_path(dist)
    if improve:
        path = _two_opt(path, dist, first_movable=1 if fixed_first else 0)
    offset = 1 if fixed_first else 0
    legs: list[tuple[Id, float | None]] = []
    for before, index in zip([None, *path], path, strict=False):
        if index >= offset:
            legs.append((located[index - offset][0], None if before is None else dist[before][index]))
    return legs, unlocated


def nearest_neighbour_order(
    start: LatLng | None, stops: Sequence[tuple[Id, float | None, float | None]]
) -> list[Id]:
    """Greedy order only (no 2-opt); stops without coordinates go last in their given order."""
    legs, unlocated = _plan(start, stops, improve=False)
    return [stop_id for stop_id, _ in legs] + unlocated


def route_order(start: LatLng | None, stops: Sequence[tuple[Id, float | None, float | None]]) -> list[Id]:
    """Visit order: nearest neighbour from `start` (else from the first located stop), improved
    by 2-opt; stops without coordinates go last in their given order."""
    legs, unlocated = _plan(start, stops, improve=True)
    return [stop_id for stop_id, _ in legs] + unlocated


def route_legs(
    start: LatLng | None, stops: Sequence[tuple[Id, float | None, float | None]]
) -> list[tuple[Id, float | None]]:
    """route_order with each stop's leg in metres from the point before it (haversine_m's, to the
    bit): from `start` for the first, None for the first without a start point and for the stops
    without coordinates (last, in their given order)."""
    legs, unlocated = _plan(start, stops, improve=True)
    return legs + [(stop_id, None) for stop_id in unlocated]
