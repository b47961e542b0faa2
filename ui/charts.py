"""ECharts options for the dashboard's charts, styled to read well on both themes (transparent background,
mid-grey text and grid lines) and with values formatted like the rest of the page in tooltips and axes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from nicegui import ui

TEXT = "#8b93a7"
GRID = "rgba(128, 128, 128, 0.16)"
PALETTE = ["#5b5bd6", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444", "#a855f7", "#14b8a6", "#f97316", "#64748b",
           "#ec4899", "#84cc16", "#06b6d4"]
_FAMILY = {"opus": "#7c3aed", "sonnet": "#0ea5e9", "haiku": "#10b981"}

MONEY_JS = "(v) => v == null ? '–' : (Math.abs(v) > 0 && Math.abs(v) < 0.005 ? '<$0.01' : '$' + " \
           "Number(v).toLocaleString('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 2}))"
COMPACT_JS = ("(v) => { if (v == null) return '–'; const a = Math.abs(v); "
              "for (const [s, u] of [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'k']]) "
              "if (a >= s) return (v / s).toFixed(a / s >= 100 ? 0 : a / s >= 10 ? 1 : 2).replace(/\\.?0+$/, '') + u; "
              "return String(Math.round(v * 10) / 10); }")
PERCENT_JS = "(v) => v == null ? '–' : (v * 100).toFixed(1) + '%'"
_FORMATTERS = {"money": MONEY_JS, "tokens": COMPACT_JS, "count": COMPACT_JS, "percent": PERCENT_JS}


def model_color(model: str) -> str:
    """A stable colour per model: its family's hue for Claude models, else one from the palette by name."""
    for family, colour in _FAMILY.items():
        if family in model:
            shade = int(hashlib.blake2b(model.encode(), digest_size=1).digest()[0]) % 3
            return _shade(colour, (0, -28, 28)[shade])
    return PALETTE[int(hashlib.blake2b(model.encode(), digest_size=2).hexdigest(), 16) % len(PALETTE)]


def _shade(hex_colour: str, amount: int) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{min(255, max(0, c + amount)):02x}" for c in (r, g, b))


def _base() -> dict[str, Any]:
    return {"backgroundColor": "transparent", "textStyle": {"color": TEXT, "fontFamily": "inherit"},
            "animationDuration": 300, "color": PALETTE}


def _axis(kind: str = "category", data: Sequence[Any] | None = None, unit: str | None = None) -> dict[str, Any]:
    axis: dict[str, Any] = {"type": kind, "axisLine": {"lineStyle": {"color": GRID}},
                            "axisLabel": {"color": TEXT}, "splitLine": {"lineStyle": {"color": GRID}}}
    if data is not None:
        axis["data"] = list(data)
    if unit:
        axis["axisLabel"][":formatter"] = _FORMATTERS[unit]
    return axis


def _tooltip(unit: str, trigger: str = "axis") -> dict[str, Any]:
    return {"trigger": trigger, ":valueFormatter": _FORMATTERS[unit], "confine": True,
            **({"axisPointer": {"type": "shadow"}} if trigger == "axis" else {})}


def stacked_bars(categories: Sequence[str], series: dict[str, list[float]], unit: str = "money",
                 colours: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Bars per category stacked by series (cost per day by model)."""
    return {**_base(), "tooltip": _tooltip(unit),
            "legend": {"type": "scroll", "bottom": 0, "textStyle": {"color": TEXT}},
            "grid": {"left": 8, "right": 12, "top": 16, "bottom": 36, "containLabel": True},
            "xAxis": _axis("category", categories), "yAxis": _axis("value", unit=unit),
            "series": [{"name": (labels or {}).get(name, name), "type": "bar", "stack": "total", "data": values,
                        "barMaxWidth": 28, "emphasis": {"focus": "series"},
                        **({"itemStyle": {"color": colours[name]}} if colours and name in colours else {})}
                       for name, values in series.items()]}


def lines(categories: Sequence[str], series: dict[str, list[float | None]], unit: str = "money",
          colours: dict[str, str] | None = None, area: bool = False, labels: dict[str, str] | None = None
          ) -> dict[str, Any]:
    return {**_base(), "tooltip": _tooltip(unit),
            "legend": {"type": "scroll", "bottom": 0, "textStyle": {"color": TEXT}},
            "grid": {"left": 8, "right": 12, "top": 16, "bottom": 36, "containLabel": True},
            "xAxis": {**_axis("category", categories), "boundaryGap": False}, "yAxis": _axis("value", unit=unit),
            "series": [{"name": (labels or {}).get(name, name), "type": "line", "data": values,
                        "showSymbol": len(categories) <= 14, "symbolSize": 5,
                        **({"areaStyle": {"opacity": 0.15}} if area else {}),
                        **({"itemStyle": {"color": colours[name]}, "lineStyle": {"color": colours[name]}}
                           if colours and name in colours else {})}
                       for name, values in series.items()]}


def donut(items: Sequence[tuple[str, float]], unit: str = "money", colours: dict[str, str] | None = None,
          labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {**_base(), "tooltip": {"trigger": "item", ":valueFormatter": _FORMATTERS[unit], "confine": True},
            "legend": {"type": "scroll", "bottom": 0, "textStyle": {"color": TEXT}},
            "series": [{"type": "pie", "radius": ["48%", "74%"], "center": ["50%", "44%"], "avoidLabelOverlap": True,
                        "label": {"show": False}, "itemStyle": {"borderColor": "rgba(0,0,0,0)", "borderWidth": 2},
                        "data": [{"name": (labels or {}).get(name, name), "value": value,
                                  **({"itemStyle": {"color": colours[name]}} if colours and name in colours else {})}
                                 for name, value in items]}]}


def hbars(categories: Sequence[str], values: Sequence[float], unit: str = "count", colour: str = PALETTE[0],
          extra: dict[str, Sequence[float]] | None = None, name: str = "value", stack: bool = False) -> dict[str, Any]:
    """Horizontal bars, largest on top (tools by calls); ``extra`` series beside (or stacked on) the first."""
    stacking = {"stack": "total"} if stack else {}
    series = [{"name": name, "type": "bar", "data": list(values)[::-1], "itemStyle": {"color": colour},
               "barMaxWidth": 18, **stacking}]
    for i, (label, data) in enumerate((extra or {}).items()):
        series.append({"name": label, "type": "bar", "data": list(data)[::-1], "barMaxWidth": 18, **stacking,
                       "itemStyle": {"color": PALETTE[(i + 4) % len(PALETTE)]}})
    return {**_base(), "tooltip": _tooltip(unit),
            "grid": {"left": 8, "right": 16, "top": 8, "bottom": 8, "containLabel": True},
            "xAxis": _axis("value", unit=unit), "yAxis": _axis("category", list(categories)[::-1]),
            "series": series}


def calendar(days: dict[str, float], first: str, last: str, unit: str = "money") -> dict[str, Any]:
    """A GitHub-style calendar heatmap of one value per local day."""
    top = max(days.values(), default=0) or 1
    return {**_base(),
            "tooltip": {"trigger": "item", "confine": True,
                        ":formatter": f"(p) => p.value[0] + ': ' + ({_FORMATTERS[unit]})(p.value[1])"},
            "visualMap": {"min": 0, "max": top, "show": False, "inRange": {"color": ["#e0e7ff", "#5b5bd6", "#312e81"]}},
            "calendar": {"range": [first, last], "cellSize": ["auto", 16], "top": 24, "left": 36, "right": 8,
                         "itemStyle": {"borderWidth": 2, "borderColor": "rgba(0,0,0,0)", "color": GRID},
                         "splitLine": {"show": False}, "yearLabel": {"show": False},
                         "dayLabel": {"color": TEXT, "firstDay": 1, "nameMap": "en"},
                         "monthLabel": {"color": TEXT, "nameMap": "en"}},
            "series": [{"type": "heatmap", "coordinateSystem": "calendar",
                        "data": [[day, value] for day, value in sorted(days.items()) if value > 0]}]}


def grid_heatmap(rows: Sequence[str], columns: Sequence[str], values: list[list[float]],
                 unit: str = "money") -> dict[str, Any]:
    """Rows x columns of values (weekday x hour)."""
    data = [[c, r, values[r][c]] for r in range(len(rows)) for c in range(len(columns))]
    top = max((v for row in values for v in row), default=0) or 1
    return {**_base(),
            "tooltip": {"trigger": "item", "confine": True,
                        ":formatter": f"(p) => p.name + ' ' + ({_FORMATTERS[unit]})(p.value[2])"},
            "grid": {"left": 8, "right": 8, "top": 8, "bottom": 28, "containLabel": True},
            "xAxis": {**_axis("category", columns), "splitArea": {"show": False}},
            "yAxis": {**_axis("category", rows), "inverse": True},
            "visualMap": {"min": 0, "max": top, "show": False, "inRange": {"color": ["#eef2ff", "#5b5bd6", "#312e81"]}},
            "series": [{"type": "heatmap", "data": data, "itemStyle": {"borderRadius": 3, "borderColor":
                                                                        "rgba(0,0,0,0)", "borderWidth": 2}}]}


def treemap(items: list[dict[str, Any]], unit: str = "count") -> dict[str, Any]:
    """Nested rectangles sized by value (files within folders)."""
    return {**_base(), "tooltip": {"confine": True, ":valueFormatter": _FORMATTERS[unit]},
            "series": [{"type": "treemap", "data": items, "roam": False, "nodeClick": False, "breadcrumb":
                        {"show": False}, "width": "100%", "height": "100%", "top": 0, "left": 0,
                        "label": {"show": True, "formatter": "{b}", "fontSize": 11},
                        "levels": [{"itemStyle": {"borderWidth": 0, "gapWidth": 4}, "upperLabel": {"show": False}},
                                   {"itemStyle": {"borderColor": "rgba(128,128,128,0.35)", "borderWidth": 2,
                                                  "gapWidth": 1},
                                    "upperLabel": {"show": True, "height": 18, "color": "#fff", "fontSize": 11}},
                                   {"colorSaturation": [0.35, 0.6], "itemStyle": {"gapWidth": 1}}]}]}


def chart(options: dict[str, Any], height: str = "h-72", marker: str | None = None) -> ui.echart:
    element = ui.echart(options).classes(f"w-full {height}")
    if marker:
        element.mark(marker).props(f'data-testid="{marker}"')
    return element
