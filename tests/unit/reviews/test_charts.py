"""The SVG bar charts: accessible names, bar geometry, escaping, diverging and empty charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from server.domain.charts import LABEL_WIDTH, VALUE_ROOM, WIDTH, Bar, Group, Marker, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def bars(root: ET.Element) -> list[ET.Element]:
    return [
        r for r in root.iter(f"{SVG}rect") if "chart-bar" in r.get("class", "") and r.get("width") != "14"
    ]


def test_the_chart_is_an_image_named_by_its_title_and_desc() -> None:
    root = parse(bar_chart("c1", "Revenue", "Plan and actual per rep", [Group("Ann", [Bar(5, "5")])]))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title").get("id") == title_id == "c1-title"  # type: ignore[union-attr]
    assert root.find(f"{SVG}title").text == "Revenue"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").get("id") == desc_id == "c1-desc"  # type: ignore[union-attr]
    assert root.get("viewBox", "").startswith(f"0 0 {WIDTH} ")


def test_bar_lengths_are_proportional_and_each_bar_is_labelled() -> None:
    chart = bar_chart(
        "c", "t", "d", [Group("Ann", [Bar(Decimal("50"), "$50")]), Group("Bob", [Bar(100, "$100")])]
    )
    root = parse(chart)
    widths = [float(r.get("width", 0)) for r in bars(root)]
    assert widths == [
        pytest.approx((WIDTH - LABEL_WIDTH - VALUE_ROOM) / 2),
        pytest.approx(WIDTH - LABEL_WIDTH - VALUE_ROOM),
    ]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["Ann", "$50", "Bob", "$100"]


def test_maximum_and_marker_set_the_scale() -> None:
    root = parse(
        bar_chart("c", "t", "d", [Group("Ann", [Bar(0.4, "40%")])], maximum=1, marker=Marker(0.8, "80%"))
    )
    plot = WIDTH - LABEL_WIDTH - VALUE_ROOM
    assert float(bars(root)[0].get("width", 0)) == pytest.approx(0.4 * plot, abs=0.1)
    marker = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "chart-marker")
    assert float(marker.get("x1", 0)) == pytest.approx(LABEL_WIDTH + 0.8 * plot, abs=0.1)
    assert "80%" in [t.text for t in root.iter(f"{SVG}text")]


def test_negative_values_grow_left_of_the_zero_line() -> None:
    root = parse(
        bar_chart("c", "t", "d", [Group("Up", [Bar(0.5, "+50%")]), Group("Down", [Bar(-0.25, "-25%")])])
    )
    up, down = bars(root)
    axis = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "chart-axis")
    zero = float(axis.get("x1", 0))
    assert float(up.get("x", 0)) == pytest.approx(zero)
    assert float(down.get("x", 0)) + float(down.get("width", 0)) == pytest.approx(zero)
    assert float(down.get("width", 0)) == pytest.approx(float(up.get("width", 0)) / 2)
    assert "tone-negative" in down.get("class", "")


def test_labels_are_escaped_and_long_ones_shortened() -> None:
    markup = str(
        bar_chart(
            "c",
            "<b>t</b>",
            "d & more",
            [Group("<script>alert(1)</script> & a very long name", [Bar(1, "<1>")])],
        )
    )
    assert "<script>" not in markup and "<b>" not in markup
    root = parse(markup)  # still well-formed XML
    label = next(t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-label")
    assert label is not None and label.endswith("…") and len(label) <= 24
    assert root.find(f"{SVG}title").text == "<b>t</b>"  # type: ignore[union-attr]


def test_missing_and_all_zero_values_draw_no_broken_bars() -> None:
    root = parse(
        bar_chart("c", "t", "d", [Group("Ann", [Bar(None, "No target")]), Group("Bob", [Bar(0, "0")])])
    )
    drawn = bars(root)
    assert len(drawn) == 1 and float(drawn[0].get("width", 1)) == 0
    assert "No target" in [t.text for t in root.iter(f"{SVG}text")]
    empty = parse(bar_chart("c", "t", "d", []))
    assert bars(empty) == [] and int(empty.get("height", 0)) > 0


def test_a_legend_names_each_series() -> None:
    groups = [Group("Ann", [Bar(3, "3", "plan"), Bar(2, "2", "actual")])]
    root = parse(bar_chart("c", "t", "d", groups, legend=[("Plan", "plan"), ("Actual", "actual")]))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts[:2] == ["Plan", "Actual"]
    assert [b.get("class") for b in bars(root)] == ["chart-bar tone-plan", "chart-bar tone-actual"]
