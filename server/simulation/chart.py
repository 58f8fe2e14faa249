"""The simulation's hand-written SVG chart: grouped bars of the shares per planner, and cumulative
revenue against the plan by week."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from server.simulation.report import PlannerReport

COLOURS = ("#1b6ca8", "#d9822b", "#6a9f3a", "#9b59b6", "#c0392b", "#7f8c8d")
BAR_MEASURES = (
    ("Attainment", lambda r: r.attainment),
    ("A compliance", lambda r: r.compliance.get("A")),
    ("B compliance", lambda r: r.compliance.get("B")),
    ("C compliance", lambda r: r.compliance.get("C")),
    ("Reach", lambda r: r.reach),
    ("Hit rate", lambda r: r.hit_rate),
)


def svg_chart(reports: Sequence[PlannerReport]) -> str:
    """Two panels: grouped bars of the shares, and cumulative revenue against the plan by week."""
    width, height = 960, 700
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    first = reports[0]
    parts.append(
        _text(
            24,
            28,
            f"FieldSales simulation: {first.weeks} weeks from {first.start}, {first.reps} reps, seed {first.seed}",
            size=16,
            weight="bold",
        )
    )
    parts += _bars(reports, x0=60, y0=60, w=860, h=280)
    parts += _lines(reports, x0=60, y0=400, w=600, h=240)
    parts += _legend(reports, x=700, y=410)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _text(
    x: float,
    y: float,
    text: str,
    size: int = 12,
    anchor: str = "start",
    weight: str = "normal",
    fill: str = "#222",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}">{escape(text)}</text>'
    )


def _bars(reports: Sequence[PlannerReport], x0: float, y0: float, w: float, h: float) -> list[str]:
    values = [[m(r) for r in reports] for _, m in BAR_MEASURES]
    top = max(1.0, *(v for row in values for v in row if v is not None))
    top = (int(top * 10) + 1) / 10 if top > 1.0 else 1.0
    out = [_text(x0, y0 - 12, "Shares (higher is better)", size=13, weight="bold")]
    for tick in range(0, int(top * 100) + 1, 20):
        y = y0 + h - h * tick / 100 / top
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        out.append(_text(x0 - 6, y + 4, f"{tick}%", anchor="end", fill="#666"))
    if top > 1.0:
        y = y0 + h - h / top
        out.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#999" stroke-dasharray="4 3"/>'
        )
    group = w / len(BAR_MEASURES)
    bar = min(28.0, (group - 16) / max(1, len(reports)))
    for gi, (label, _) in enumerate(BAR_MEASURES):
        gx = x0 + gi * group + (group - bar * len(reports)) / 2
        for ri, value in enumerate(values[gi]):
            if value is None:
                continue
            bh = h * value / top
            x = gx + ri * bar
            colour = COLOURS[ri % len(COLOURS)]
            out.append(
                f'<rect x="{x:.1f}" y="{y0 + h - bh:.1f}" width="{bar - 2:.1f}" height="{bh:.1f}" fill="{colour}">'
                f"<title>{escape(reports[ri].planner)}: {label} {value * 100:.1f}%</title></rect>"
            )
            out.append(
                _text(
                    x + (bar - 2) / 2,
                    y0 + h - bh - 4,
                    f"{value * 100:.1f}",
                    size=9,
                    anchor="middle",
                    fill="#444",
                )
            )
        out.append(_text(x0 + gi * group + group / 2, y0 + h + 18, label, anchor="middle"))
    out.append(f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" stroke="#444"/>')
    return out


def _lines(reports: Sequence[PlannerReport], x0: float, y0: float, w: float, h: float) -> list[str]:
    out = [_text(x0, y0 - 12, "Cumulative revenue, % of the window's plan", size=13, weight="bold")]
    weeks = max(len(r.weekly) for r in reports)
    plan_total = float(reports[0].plan) or 1.0
    series = [[float(p["revenue"]) / plan_total for p in r.weekly] for r in reports]
    plan_line = [float(p["plan"]) / plan_total for p in reports[0].weekly]
    top = max(1.0, *(v for s in [*series, plan_line] for v in s)) if weeks else 1.0
    top = (int(top * 10) + 1) / 10 if top > 1.0 else 1.0

    def xy(i: int, v: float) -> str:
        x = x0 + (w * (i + 1) / weeks if weeks else 0)
        return f"{x:.1f},{y0 + h - h * v / top:.1f}"

    for tick in range(0, int(top * 100) + 1, 20):
        y = y0 + h - h * tick / 100 / top
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        out.append(_text(x0 - 6, y + 4, f"{tick}%", anchor="end", fill="#666"))
    for i in range(weeks):
        out.append(
            _text(x0 + w * (i + 1) / weeks, y0 + h + 16, f"w{i + 1}", size=10, anchor="middle", fill="#666")
        )
    out.append(f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" stroke="#444"/>')
    if plan_line:
        points = " ".join([f"{x0:.1f},{y0 + h:.1f}", *(xy(i, v) for i, v in enumerate(plan_line))])
        out.append(
            f'<polyline points="{points}" fill="none" stroke="#333" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    for ri, s in enumerate(series):
        if not s:
            continue
        points = " ".join([f"{x0:.1f},{y0 + h:.1f}", *(xy(i, v) for i, v in enumerate(s))])
        colour = COLOURS[ri % len(COLOURS)]
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
    return out


def _legend(reports: Sequence[PlannerReport], x: float, y: float) -> list[str]:
    out = [_text(x, y, "Planner  (km/visit, escalations)", size=13, weight="bold")]
    for ri, r in enumerate(reports):
        yy = y + 24 + ri * 22
        colour = COLOURS[ri % len(COLOURS)]
        out.append(f'<rect x="{x}" y="{yy - 10}" width="14" height="10" fill="{colour}"/>')
        km = "-" if r.km_per_visit is None else f"{r.km_per_visit:.2f} km"
        out.append(_text(x + 20, yy, f"{r.planner}  ({km}, {r.escalations})"))
    yy = y + 24 + len(reports) * 22
    out.append(
        f'<line x1="{x}" y1="{yy - 5}" x2="{x + 14}" y2="{yy - 5}" stroke="#333" stroke-dasharray="6 4"/>'
    )
    out.append(_text(x + 20, yy, "plan (prorated by working days)"))
    return out


def write_svg(reports: Sequence[PlannerReport], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg_chart(reports), encoding="utf-8")
    return path
