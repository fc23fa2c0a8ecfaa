"""Charts as inline SVG: the page must open from an attachment, offline, with no script."""

from __future__ import annotations

from html import escape

from mailer.reports.model import Bars, Chart, Line

WIDTH = 640
INK, BAR, GOAL, GRID = "#1f2933", "#2f7d4f", "#c0392b", "#d8dee4"


def _svg(title: str, height: int, body: list[str], kind: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'font-family="DejaVu Sans, sans-serif" font-size="12" fill="{INK}">'
        f'<title>{escape(title)}</title><text x="0" y="16" font-size="14" font-weight="bold">'
        f"{escape(title)}</text>{''.join(body)}</svg>"
    )


def bars(chart: Bars) -> str:
    """One horizontal bar per label, the value written at its end."""
    label_w, row, top = 170, 24, 32
    scale = (WIDTH - label_w - 50) / max([*chart.values, 1])
    body = []
    for i, (label, value) in enumerate(zip(chart.labels, chart.values, strict=True)):
        y = top + i * row
        w = max(value * scale, 1)
        body.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label[:26])}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{BAR}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{value}</text>'
        )
    return _svg(chart.title, top + row * len(chart.values) + 8, body, "bars")


def line(chart: Line) -> str:
    """Points over time joined by a line, and the goal as a dashed line across."""
    left, right, top, bottom, height = 40, 40, 30, 40, 260
    plot_h = height - top - bottom
    high = max([*chart.values, chart.goal or 0, 1]) * 1.15
    step = (WIDTH - left - right) / max(len(chart.values) - 1, 1)

    def y(v: float) -> float:
        return top + plot_h - v / high * plot_h

    points = [(left + i * step, y(v)) for i, v in enumerate(chart.values)]
    body = [
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{WIDTH - right}" y2="{y(0):.1f}" stroke="{GRID}"/>',
        f'<text x="{left - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
    ]
    if chart.goal is not None:
        g = y(chart.goal)
        body.append(
            f'<line class="goal" x1="{left}" y1="{g:.1f}" x2="{WIDTH - right}" y2="{g:.1f}" '
            f'stroke="{GOAL}" stroke-dasharray="6 4"/>'
            f'<text x="{WIDTH - right}" y="{g - 4:.1f}" text-anchor="end" fill="{GOAL}">'
            f"mål {chart.goal}</text>"
        )
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{py:.1f}" for x, py in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    every = max(len(points) // 8, 1)
    for i, ((x, py), value, label) in enumerate(zip(points, chart.values, chart.labels, strict=True)):
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{py:.1f}" r="4" fill="{BAR}">'
            f"<title>{escape(label)}: {value}</title></circle>"
            f'<text x="{x:.1f}" y="{py - 8:.1f}" text-anchor="middle">{value}</text>'
        )
        if i % every == 0 or i == len(points) - 1:
            body.append(f'<text x="{x:.1f}" y="{height - 20}" text-anchor="middle">{escape(label)}</text>')
    return _svg(chart.title, height, body, "line")


def render(chart: Chart) -> str:
    return bars(chart) if isinstance(chart, Bars) else line(chart)
