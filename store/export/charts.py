"""Charts as inline SVG: they render in any browser or mail client, offline, with no script and no request."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

Fmt = Callable[[float], str]
PALETTE = ("#4f46e5", "#0891b2", "#16a34a", "#ca8a04", "#dc2626", "#9333ea", "#db2777", "#64748b")


def money_fmt(v: float) -> str:
    return f"${v:,.2f}" if v >= 1 or v == 0 else f"${v:,.4f}"


def count_fmt(v: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:.1f}{suffix}"
    return f"{v:,.0f}"


def _nice_step(top: float, ticks: int = 4) -> float:
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def column_chart(points: Sequence[tuple[str, float]], chart_id: str, title: str, fmt: Fmt = money_fmt,
                 width: int = 900, height: int = 260) -> str:
    """Vertical bars over time (one per label), with a value axis and a few date labels."""
    left, right, top, bottom = 64, 12, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for _, v in points), default=0.0)
    step = _nice_step(peak) if peak > 0 else 1.0
    ceiling = step * math.ceil(peak / step) if peak > 0 else 4.0
    parts = [f'<svg class="chart" data-chart="{chart_id}" role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
             'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    value = 0.0
    while value <= ceiling + 1e-12:
        y = top + plot_h - plot_h * value / ceiling
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{escape(fmt(value))}</text>')
        value += step
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.78, 1.0)
    label_every = max(1, math.ceil(n / 8))
    for i, (label, v) in enumerate(points):
        h = plot_h * v / ceiling
        x = left + i * slot + (slot - bar_w) / 2
        parts.append(f'<rect class="bar" x="{x:.2f}" y="{top + plot_h - h:.2f}" width="{bar_w:.2f}" '
                     f'height="{max(h, 0):.2f}" fill="{PALETTE[0]}"><title>{escape(label)}: {escape(fmt(v))}</title>'
                     "</rect>")
        if i % label_every == 0:
            parts.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - 10}" class="axis" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" class="base"/></svg>')
    return "".join(parts)


def bar_list(items: Sequence[tuple[str, float]], chart_id: str, title: str, fmt: Fmt = money_fmt,
             width: int = 440) -> str:
    """Horizontal bars, largest first, each with its label and value."""
    label_w, value_w, row_h = 170, 80, 24
    height = max(len(items), 1) * row_h + 8
    peak = max((v for _, v in items), default=0.0) or 1.0
    parts = [f'<svg class="chart" data-chart="{chart_id}" role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    span = width - label_w - value_w
    for i, (label, v) in enumerate(items):
        y = 4 + i * row_h
        short = label if len(label) <= 26 else "…" + label[-25:]
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" class="label" text-anchor="end">{escape(short)}'
                     f"<title>{escape(label)}</title></text>"
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{max(span * v / peak, 1):.2f}" height="16" '
                     f'rx="2" fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {escape(fmt(v))}</title>'
                     f'</rect><text x="{width - 4}" y="{y + 16}" class="value" text-anchor="end">'
                     f"{escape(fmt(v))}</text>")
    if not items:
        parts.append(f'<text x="{width / 2}" y="20" class="axis" text-anchor="middle">No data in this range</text>')
    parts.append("</svg>")
    return "".join(parts)
