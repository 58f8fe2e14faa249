import random
from itertools import pairwise, permutations

import pytest

from server.domain.routing import (
    distance_matrix,
    haversine_m,
    nearest_neighbour_order,
    route_length_m,
    route_order,
)

Stop = tuple[str, float | None, float | None]


@pytest.mark.parametrize(
    ("a", "b", "metres"),
    [
        ((0.0, 0.0), (0.0, 0.0), 0.0),
        ((0.0, 0.0), (1.0, 0.0), 111_195.1),  # one degree of latitude
        ((0.0, 0.0), (0.0, 1.0), 111_195.1),  # one degree of longitude at the equator
        ((60.0, 0.0), (60.0, 1.0), 55_597.0),  # half as far at 60 degrees north
        ((51.5007, -0.1246), (48.8584, 2.2945), 340_600.0),  # Big Ben - Eiffel Tower
        ((0.0, 0.0), (0.0, 180.0), 20_015_114.0),  # antipodes
    ],
)
def test_haversine(a: tuple[float, float], b: tuple[float, float], metres: float) -> None:
    assert haversine_m(*a, *b) == pytest.approx(metres, rel=2e-3)
    assert haversine_m(*a, *b) == pytest.approx(haversine_m(*b, *a))


def ids_to_points(stops: list[Stop], order: list[str]) -> list[tuple[float, float]]:
    where = {sid: (lat, lng) for sid, lat, lng in stops}
    return [where[sid] for sid in order]  # type: ignore[misc]


def length(start: tuple[float, float] | None, stops: list[Stop], order: list[str]) -> float:
    return route_length_m(start, ids_to_points(stops, order))


def test_stops_on_a_line_are_swept_in_order() -> None:
    stops: list[Stop] = [("c", 0.0, 0.03), ("a", 0.0, 0.01), ("b", 0.0, 0.02)]
    assert route_order((0.0, 0.0), stops) == ["a", "b", "c"]


def test_without_a_start_the_path_is_still_a_sweep() -> None:
    # Greedy from "b" goes to "a" then doubles back to "c"; 2-opt turns it into a sweep.
    stops: list[Stop] = [("b", 0.0, 0.02), ("a", 0.0, 0.015), ("c", 0.0, 0.03)]
    assert nearest_neighbour_order(None, stops) == ["b", "a", "c"]
    order = route_order(None, stops)
    assert order in (["a", "b", "c"], ["c", "b", "a"])
    assert length(None, stops, order) < length(None, stops, ["b", "a", "c"])


def test_stops_without_coordinates_go_last_in_given_order() -> None:
    stops: list[Stop] = [
        ("x", None, None),
        ("far", 0.0, 0.05),
        ("y", 1.0, None),
        ("near", 0.0, 0.01),
    ]
    assert route_order((0.0, 0.0), stops) == ["near", "far", "x", "y"]
    assert route_order((0.0, 0.0), [("x", None, None), ("y", None, None)]) == ["x", "y"]
    assert route_order((0.0, 0.0), []) == []


def crosses(p1: tuple[float, float], p2: tuple[float, float],
            q1: tuple[float, float], q2: tuple[float, float]) -> bool:  # fmt: skip
    def orient(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    return (orient(p1, p2, q1) * orient(p1, p2, q2) < 0) and (orient(q1, q2, p1) * orient(q1, q2, p2) < 0)


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("with_start", [True, False])
def test_two_opt_never_lengthens_and_leaves_no_crossing(seed: int, with_start: bool) -> None:
    rng = random.Random(seed)
    n = rng.randint(8, 20)
    # A ~10 km square near the equator, where lat/lng is close to a flat plane.
    stops: list[Stop] = [(f"s{i}", rng.uniform(0, 0.1), rng.uniform(0, 0.1)) for i in range(n)]
    start = (rng.uniform(0, 0.1), rng.uniform(0, 0.1)) if with_start else None
    greedy = nearest_neighbour_order(start, stops)
    improved = route_order(start, stops)
    assert sorted(improved) == sorted(sid for sid, _, _ in stops)
    assert length(start, stops, improved) <= length(start, stops, greedy) + 1e-6
    path = ([start] if start else []) + ids_to_points(stops, improved)
    edges = list(pairwise(path))
    for i, (a, b) in enumerate(edges):
        for c, d in edges[i + 2 :]:
            assert not crosses(a, b, c, d)


def test_route_length() -> None:
    assert route_length_m(None, []) == 0.0
    assert route_length_m((0.0, 0.0), [(0.0, 1.0), (0.0, 2.0)]) == pytest.approx(2 * 111_195.1, rel=1e-4)


def test_two_opt_fixes_a_crossing_left_by_nearest_neighbour() -> None:
    start = (0.0, 0.0)
    stops: list[Stop] = [
        ("A", 0.003, 0.004),
        ("B", 0.001, 0.010),
        ("C", 0.007, 0.006),
        ("D", 0.008, 0.004),
    ]
    greedy = nearest_neighbour_order(start, stops)
    assert greedy == ["A", "C", "D", "B"]  # the long leg D -> B crosses A -> C
    a, c, d, b = ids_to_points(stops, greedy)
    assert crosses(a, c, d, b)

    improved = route_order(start, stops)
    assert improved == ["A", "D", "C", "B"]
    best = min(permutations(["A", "B", "C", "D"]), key=lambda p: length(start, stops, list(p)))
    assert length(start, stops, improved) == pytest.approx(length(start, stops, list(best)))
    assert length(start, stops, improved) < length(start, stops, greedy) - 100


def test_the_distance_matrix_is_haversine_to_the_bit() -> None:
    rng = random.Random(3)
    for _ in range(50):
        near = [(31.2 + rng.uniform(-0.3, 0.3), 121.4 + rng.uniform(-0.3, 0.3)) for _ in range(8)]
        far = [(rng.uniform(-89.9, 89.9), rng.uniform(-180, 180)) for _ in range(4)]
        points = near + far
        matrix = distance_matrix(points)
        assert matrix == [[haversine_m(*a, *b) for b in points] for a in points]
