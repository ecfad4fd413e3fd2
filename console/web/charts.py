"""ECharts options for the dashboard, built here and written into the page as JSON.

The page's script only hands each option to ECharts, so what a chart shows is decided (and
tested) in Python, next to the numbers printed beside it.
"""

from __future__ import annotations

from typing import Any

from console.i18n import Translate
from console.queries.dashboard import DaySeries

STATUS_COLOURS = {"sent": "#2e9d6a", "failed": "#c0262d", "skipped": "#6b7280", "queued": "#d4a017"}
PALETTE = ["#8a1c24", "#d4a017", "#3b7dd8", "#2e9d6a", "#8c6bb1", "#d9822b", "#6b7280"]
Option = dict[str, Any]


def _base() -> Option:
    return {
        "color": PALETTE,
        "animation": False,
        "grid": {"left": 48, "right": 16, "top": 36, "bottom": 28},
        "tooltip": {"trigger": "axis"},
        "textStyle": {"fontFamily": "sans-serif"},
    }


def tiers_pie(counts: list[tuple[str, int]], _: Translate) -> Option:
    option = _base()
    option.pop("grid")
    option["tooltip"] = {"trigger": "item", "formatter": "{b}: {c} ({d}%)"}
    option["legend"] = {"bottom": 0, "type": "scroll"}
    option["series"] = [
        {
            "type": "pie",
            "name": _("members_by_tier"),
            "radius": ["40%", "70%"],
            "center": ["50%", "45%"],
            "label": {"formatter": "{b}\n{c}"},
            "data": [{"name": name, "value": n} for name, n in counts],
        }
    ]
    return option


def day_lines(series: DaySeries, names: list[tuple[str, str]], *, bars: bool = False) -> Option:
    option = _base()
    option["legend"] = {"top": 0, "data": [label for _, label in names]}
    option["xAxis"] = {
        "type": "category",
        "data": [d.strftime("%m-%d") for d in series.days],
        "axisTick": {"alignWithLabel": True},
    }
    option["yAxis"] = {"type": "value", "minInterval": 1}
    option["series"] = [
        {
            "name": label,
            "type": "bar" if bars else "line",
            "data": series.values[key],
            **({} if bars else {"showSymbol": False}),
        }
        for key, label in names
    ]
    return option


def messages_bars(
    channels: list[tuple[str, dict[str, int]]], statuses: list[tuple[str, str]]
) -> Option:
    option = _base()
    option["tooltip"] = {"trigger": "axis", "axisPointer": {"type": "shadow"}}
    option["legend"] = {"top": 0, "data": [label for _, label in statuses]}
    option["xAxis"] = {"type": "category", "data": [label for label, _ in channels]}
    option["yAxis"] = {"type": "value", "minInterval": 1}
    option["series"] = [
        {
            "name": label,
            "type": "bar",
            "stack": "all",
            "itemStyle": {"color": STATUS_COLOURS.get(status, PALETTE[0])},
            "data": [counts.get(status, 0) for _, counts in channels],
        }
        for status, label in statuses
    ]
    return option
