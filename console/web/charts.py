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


RATE_METRICS = ("purchase_rate", "unfollow_rate")


def effect_chart(effect: dict[str, Any], _: Translate) -> Option:
    """The campaign's effect: for each rate, recipients minus the held-out members in
    percentage points, the 95% interval as whiskers (a boxplot whose box is the estimate)."""
    option = _base()
    metrics = [m for m in effect["metrics"] if m["name"] in RATE_METRICS]
    names = [_("metric_" + m["name"]) for m in metrics]
    option["grid"] = {"left": 110, "right": 24, "top": 36, "bottom": 28}
    option["tooltip"] = {"trigger": "item"}
    option["legend"] = {"top": 0, "data": [_("effect_interval"), _("effect_estimate")]}
    option["yAxis"] = {"type": "category", "data": names}
    option["xAxis"] = {
        "type": "value",
        "name": _("points_pp"),
        "nameLocation": "middle",
        "nameGap": 22,
    }

    def pp(value: float | None, fallback: float) -> float:
        return round(100 * (fallback if value is None else value), 3)

    option["series"] = [
        {
            "name": _("effect_interval"),
            "type": "boxplot",
            "layout": "horizontal",
            "boxWidth": [4, 10],
            "itemStyle": {"color": "#f3e7c6", "borderColor": "#8a1c24"},
            "data": [
                [
                    pp(m["low"], m["difference"]),
                    pp(m["difference"], 0),
                    pp(m["difference"], 0),
                    pp(m["difference"], 0),
                    pp(m["high"], m["difference"]),
                ]
                for m in metrics
            ],
            "markLine": {
                "symbol": "none",
                "silent": True,
                "lineStyle": {"color": "#6b7280", "type": "dashed"},
                "data": [{"xAxis": 0}],
            },
        },
        {
            "name": _("effect_estimate"),
            "type": "scatter",
            "symbolSize": 12,
            "itemStyle": {"color": "#8a1c24"},
            "data": [[pp(m["difference"], 0), i] for i, m in enumerate(metrics)],
        },
    ]
    return option


def pareto_curves(level: dict[str, Any], share: float, _: Translate) -> Option:
    """One channel level's Pareto curves, sales and profit side by side (two grids), the cut at
    the programme's share marked on each."""
    option = _base()
    option["tooltip"] = {"trigger": "axis"}
    option["legend"] = {"top": 0, "data": [_("sales"), _("profit")]}
    option["grid"] = [
        {"left": 44, "right": "54%", "top": 40, "bottom": 36},
        {"left": "56%", "right": 40, "top": 40, "bottom": 36},
    ]
    cut = round(share * 100, 1)
    axes_x, axes_y, series = [], [], []
    for index, (key, name, colour) in enumerate(
        (("sales_curve", _("sales"), PALETTE[0]), ("profit_curve", _("profit"), PALETTE[1]))
    ):
        axes_x.append(
            {
                "type": "value",
                "gridIndex": index,
                "min": 0,
                "max": 100,
                "name": _("customers_pct"),
                "nameLocation": "middle",
                "nameGap": 22,
            }
        )
        axes_y.append(
            {
                "type": "value",
                "gridIndex": index,
                "min": 0,
                "max": 100,
                "axisLabel": {"formatter": "{value}%"},
            }
        )
        points = [[0.0, 0.0]] + [
            [round(p["customers"] * 100, 2), round(p["value"] * 100, 2)] for p in level[key]
        ]
        series.append(
            {
                "name": name,
                "type": "line",
                "xAxisIndex": index,
                "yAxisIndex": index,
                "showSymbol": False,
                "itemStyle": {"color": colour},
                "areaStyle": {"opacity": 0.12},
                "data": points,
                "markLine": {
                    "symbol": "none",
                    "silent": True,
                    "label": {"formatter": f"{cut:g}%"},
                    "lineStyle": {"color": "#c0262d", "type": "dashed"},
                    "data": [{"yAxis": cut}],
                },
            }
        )
    option["xAxis"] = axes_x
    option["yAxis"] = axes_y
    option["series"] = series
    return option


def rfm_heatmap(cells: list[dict[str, Any]], bins: int, _: Translate) -> Option:
    """Members in each recency x frequency cell (5 is best on both)."""
    option = _base()
    option["tooltip"] = {"trigger": "item"}
    option["grid"] = {"left": 56, "right": 16, "top": 24, "bottom": 96}
    scores = [str(s) for s in range(1, bins + 1)]
    option["xAxis"] = {"type": "category", "data": scores, "name": "F", "splitArea": {"show": True}}
    option["yAxis"] = {"type": "category", "data": scores, "name": "R", "splitArea": {"show": True}}
    top = max((c["members"] for c in cells), default=0)
    option["visualMap"] = {
        "min": 0,
        "max": max(top, 1),
        "calculable": True,
        "orient": "horizontal",
        "left": "center",
        "bottom": 0,
        "inRange": {"color": ["#fbf3e4", "#d4a017", "#8a1c24"]},
    }
    option["series"] = [
        {
            "name": _("members"),
            "type": "heatmap",
            "label": {"show": True},
            "data": [[c["f"] - 1, c["r"] - 1, c["members"]] for c in cells],
        }
    ]
    return option


def category_bars(
    labels: list[str], values: list[int], name: str, *, horizontal: bool = False
) -> Option:
    option = _base()
    option["tooltip"] = {"trigger": "axis", "axisPointer": {"type": "shadow"}}
    category = {"type": "category", "data": labels}
    value = {"type": "value", "minInterval": 1}
    option["xAxis"], option["yAxis"] = (value, category) if horizontal else (category, value)
    if horizontal:
        option["grid"] = {"left": 110, "right": 24, "top": 16, "bottom": 28}
    option["series"] = [{"name": name, "type": "bar", "data": values, "barMaxWidth": 36}]
    return option


def stacked_bars(
    categories: list[str], stacks: list[tuple[str, list[int]]], *, horizontal: bool = False
) -> Option:
    option = _base()
    option["tooltip"] = {"trigger": "axis", "axisPointer": {"type": "shadow"}}
    option["legend"] = {"top": 0, "type": "scroll", "data": [name for name, _ in stacks]}
    category = {"type": "category", "data": categories}
    value = {"type": "value", "minInterval": 1}
    option["xAxis"], option["yAxis"] = (value, category) if horizontal else (category, value)
    if horizontal:
        option["grid"] = {"left": 130, "right": 24, "top": 36, "bottom": 28}
    option["series"] = [
        {"name": name, "type": "bar", "stack": "all", "data": values, "barMaxWidth": 36}
        for name, values in stacks
    ]
    return option
