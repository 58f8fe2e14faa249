"""Server-rendered SVG bar charts: accessible, no chart library, nothing run in the browser.

Each chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`; every bar
carries its label and its value as text, and pages put the same figures in a table next to the
chart. Colours come from CSS classes (`chart-*`, `tone-*` in web/static/standup.css), so dark mode
and print work, and the CSP (no inline style) is respected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 168  # the label column, right-aligned against the plot
VALUE_ROOM = 96  # space right of the plot for the value text
BAR_HEIGHT = 20
BAR_GAP = 4
GROUP_GAP = 12
LEGEND_HEIGHT = 26
MARKER_ROOM = 18
MAX_LABEL = 24  # characters; the table next to the chart has the full name

Number = Decimal | int | float


@dataclass(frozen=True)
class Bar:
    """One bar: `value` None means no data (no bar, the text says why)."""

    value: Number | None
    text: str
    tone: str = ""  # a CSS modifier such as "plan", "below", "negative"


@dataclass(frozen=True)
class Group:
    """A labelled row of one or more bars (several bars compare series, e.g. plan and actual)."""

    label: str
    bars: Sequence[Bar]


@dataclass(frozen=True)
class Marker:
    """A reference line across the plot, e.g. the 80% reach floor."""

    value: Number
    label: str


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _num(value: Number) -> float:
    return float(value)


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    groups: Sequence[Group],
    *,
    legend: Sequence[tuple[str, str]] = (),
    marker: Marker | None = None,
    maximum: Number | None = None,
) -> Markup:
    """Horizontal bars; negative values grow left of a zero line (diverging charts).

    Args:
        legend: (label, tone) pairs naming the series when groups hold several bars.
        maximum: the value a full-width bar stands for; defaults to the largest value shown.
    """
    values = [_num(b.value) for g in groups for b in g.bars if b.value is not None]
    if marker is not None:
        values.append(_num(marker.value))
    top = max([abs(v) for v in values] + [_num(maximum) if maximum is not None else 0.0])
    has_negative = any(v < 0 for v in values)
    if has_negative:  # value text room on both sides of a zero line in the middle
        span = (WIDTH - LABEL_WIDTH - 2 * VALUE_ROOM) / 2
        zero_x = LABEL_WIDTH + VALUE_ROOM + span
    else:
        span = WIDTH - LABEL_WIDTH - VALUE_ROOM
        zero_x = LABEL_WIDTH

    def scale(value: float) -> float:
        return 0.0 if top == 0 else value / top * span

    parts: list[str] = []
    y = 4.0
    if legend:
        x = float(LABEL_WIDTH)
        for name, tone in legend:
            parts.append(
                f'<rect class="chart-bar tone-{escape(tone)}" x="{x:.1f}" y="{y + 4:.1f}" '
                f'width="14" height="14" rx="2"/>'
                f'<text class="chart-text" x="{x + 20:.1f}" y="{y + 16:.1f}">{escape(name)}</text>'
            )
            x += 28 + 8 * len(name)
        y += LEGEND_HEIGHT
    if marker is not None:
        y += MARKER_ROOM
    plot_top = y
    for group in groups:
        rows = max(1, len(group.bars))
        block = rows * BAR_HEIGHT + (rows - 1) * BAR_GAP
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{y + block / 2 + 5:.1f}" '
            f'text-anchor="end">{escape(_short(group.label))}</text>'
        )
        for bar in group.bars:
            parts.append(_bar(bar, y, zero_x, scale))
            y += BAR_HEIGHT + BAR_GAP
        y += GROUP_GAP - BAR_GAP
    plot_bottom = y - GROUP_GAP + BAR_GAP
    parts.append(
        f'<line class="chart-axis" x1="{zero_x:.1f}" x2="{zero_x:.1f}" '
        f'y1="{plot_top - 2:.1f}" y2="{plot_bottom + 2:.1f}"/>'
    )
    if marker is not None:
        mx = zero_x + scale(_num(marker.value))
        parts.append(
            f'<line class="chart-marker" x1="{mx:.1f}" x2="{mx:.1f}" '
            f'y1="{plot_top - 4:.1f}" y2="{plot_bottom + 2:.1f}"/>'
            f'<text class="chart-text" x="{mx:.1f}" y="{plot_top - 6:.1f}" text-anchor="middle">'
            f"{escape(marker.label)}</text>"
        )
    height = round(max(y, plot_top) + 4)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
    )
    return Markup(head + "".join(parts) + "</svg>")


def _bar(bar: Bar, y: float, zero_x: float, scale: Callable[[float], float]) -> str:
    text_y = y + BAR_HEIGHT / 2 + 5
    if bar.value is None:
        return f'<text class="chart-text chart-none" x="{zero_x + 6:.1f}" y="{text_y:.1f}">{escape(bar.text)}</text>'
    length = scale(_num(bar.value))
    x = zero_x + min(0.0, length)
    width = abs(length)
    tone = bar.tone or ("negative" if length < 0 else "")
    css = "chart-bar" + (f" tone-{escape(tone)}" if tone else "")
    # Value text sits just beyond the bar's end: right of positive bars, left of negative ones.
    if length < 0:
        label = f'<text class="chart-text" x="{x - 6:.1f}" y="{text_y:.1f}" text-anchor="end">'
    else:
        label = f'<text class="chart-text" x="{x + width + 6:.1f}" y="{text_y:.1f}">'
    return (
        f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR_HEIGHT}" rx="3"/>'
        f"{label}{escape(bar.text)}</text>"
    )


def progress_bar(target: Decimal, actual: Decimal, expected: Decimal) -> dict[str, Decimal]:
    """Widths (0..100) of the actual bar, the expected-to-date marker and the target of a pace SVG."""
    scale = max(target, actual, expected, Decimal(1))

    def width(value: Decimal) -> Decimal:
        return min(Decimal(100), value / scale * 100).quantize(Decimal("0.1"))

    return {"actual": width(actual), "expected": width(expected), "target": width(target)}
