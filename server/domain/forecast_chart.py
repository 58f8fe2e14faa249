"""Server-rendered SVG of a forecast against plan: the 80% band, the point forecast, the actual to
date and the plan on one horizontal scale (same conventions as server/domain/charts.py: role=img,
<title>/<desc>, colours from CSS classes, every figure also printed next to the chart)."""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 64
PAD = 8
TRACK_Y = 18
TRACK_H = 22


def band_chart(
    chart_id: str,
    title: str,
    description: str,
    *,
    actual: Decimal,
    point: Decimal,
    low: Decimal,
    high: Decimal,
    plan: Decimal | None,
) -> Markup:
    top = max([high, point, actual] + ([plan] if plan is not None else []))
    scale_max = float(top) * 1.05 if top > 0 else 1.0

    def x(value: Decimal) -> float:
        return round(PAD + (WIDTH - 2 * PAD) * max(float(value), 0.0) / scale_max, 1)

    parts = [
        f'<svg class="chart chart-forecast" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(description)}</desc>',
        f'<line class="chart-axis" x1="{PAD}" y1="{TRACK_Y + TRACK_H + 4}" x2="{WIDTH - PAD}" y2="{TRACK_Y + TRACK_H + 4}"/>',
        f'<rect class="chart-band" x="{x(low)}" y="{TRACK_Y}" width="{max(x(high) - x(low), 1.0)}" height="{TRACK_H}"/>',
        f'<rect class="chart-bar tone-actual" x="{PAD}" y="{TRACK_Y + 6}" width="{max(x(actual) - PAD, 0.0)}" height="{TRACK_H - 12}"/>',
        f'<line class="chart-point" x1="{x(point)}" y1="{TRACK_Y - 4}" x2="{x(point)}" y2="{TRACK_Y + TRACK_H + 4}"/>',
    ]
    if plan is not None:
        parts.append(
            f'<line class="chart-marker" x1="{x(plan)}" y1="{TRACK_Y - 10}" x2="{x(plan)}" y2="{TRACK_Y + TRACK_H + 10}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def history_chart(
    chart_id: str,
    title: str,
    description: str,
    points: list[tuple[Decimal, Decimal, Decimal, Decimal]],
    plan: Decimal | None,
) -> Markup:
    """How a forecast moved, one column per run (oldest left): the 80% band as an area, the point
    forecast as a line, the actual to date as a line and the plan as a dashed line.

    `points` are (low, point, high, actual) per run."""
    width, height, pad = 640, 160, 12
    values = [v for p in points for v in p] + ([plan] if plan is not None else [])
    top = float(max(values)) * 1.05 if values and max(values) > 0 else 1.0
    step = (width - 2 * pad) / max(len(points) - 1, 1)

    def xy(index: int, value: Decimal) -> str:
        y = height - pad - (height - 2 * pad) * max(float(value), 0.0) / top
        return f"{round(pad + index * step, 1)},{round(y, 1)}"

    band = [xy(i, p[2]) for i, p in enumerate(points)] + [
        xy(i, p[0]) for i, p in reversed(list(enumerate(points)))
    ]
    parts = [
        f'<svg class="chart chart-forecast-history" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(description)}</desc>',
        f'<line class="chart-axis" x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"/>',
    ]
    if points:
        parts += [
            f'<polygon class="chart-band" points="{" ".join(band)}"/>',
            f'<polyline class="chart-line tone-actual" fill="none" points="{" ".join(xy(i, p[3]) for i, p in enumerate(points))}"/>',
            f'<polyline class="chart-point" fill="none" points="{" ".join(xy(i, p[1]) for i, p in enumerate(points))}"/>',
        ]
    if plan is not None:
        y = xy(0, plan).split(",")[1]
        parts.append(f'<line class="chart-marker" x1="{pad}" y1="{y}" x2="{width - pad}" y2="{y}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
