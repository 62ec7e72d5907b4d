"""The report's charts as inline SVG, drawn by pygal (imported only when a report is made).

Why pygal: it writes SVG itself (no browser, no native code, ~1.3 MB of pure Python with one
small dependency), imports in tens of milliseconds, and its SVG text is built with an XML
serializer, so a label can never become markup. matplotlib's SVG backend would bring numpy
and ~300 ms of import; Vega-Lite through vl-convert ships a ~50 MB JavaScript engine.

pygal adds a `<script>` with its settings to every chart, for tooltips it loads from the
web; the page runs no script at all (its Content-Security-Policy forbids them), so that
element and the generator comments are taken out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from speckit.report.models import Charts, Series

# Okabe-Ito: told apart by people with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_SCRIPT = re.compile(r"<script[^>]*>[^<]*</script>")
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _style() -> Any:
    from pygal.style import Style

    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="#222",
        foreground_strong="#000",
        foreground_subtle="#888",
        font_family="-apple-system, 'Segoe UI', Roboto, Arial, 'Liberation Sans', sans-serif",
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=11,
        title_font_size=15,
        value_font_size=11,
        colors=PALETTE,
        transition="0ms",
    )


def _render(chart: Any, name: str) -> str:
    chart.uuid = name  # a stable id: the same evidence gives the same page
    svg = str(chart.render(is_unicode=True))
    return _COMMENT.sub("", _SCRIPT.sub("", svg))


def _chart(kind: str, title: str, name: str, data: Series, unit: Callable[[float], str]) -> str:
    import pygal

    factory = {
        "stacked": pygal.StackedBar,
        "bar": pygal.HorizontalBar,
        "line": pygal.Line,
    }[kind]
    chart = factory(
        style=_style(),
        width=640,
        height=380,
        explicit_size=False,  # a viewBox only: the page's CSS sets the width
        js=[],
        disable_xml_declaration=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=min(max(len(data.series), 1), 7),  # one row of legend
        truncate_legend=-1,
        truncate_label=-1,
        x_label_rotation=30 if kind != "bar" else 0,
        show_minor_x_labels=len(data.labels) <= 12,
        x_labels_major_count=12,
        print_values=False,
        value_formatter=unit,
        no_data_text="no data yet",
        margin=12,
        classes=["pygal-chart", f"chart-{name}"],
    )
    chart.title = title
    chart.x_labels = list(data.labels)
    for series, values in data.series.items():
        if kind == "line" and series.startswith("cap"):
            chart.add(series, values, show_dots=False, stroke_style={"dasharray": "6,4"})
        else:
            chart.add(series, values)
    return _render(chart, name)


def usd(value: float) -> str:
    return f"${value:,.4f}"


def count(value: float) -> str:
    return f"{value:,.0f}"


def seconds(value: float) -> str:
    return f"{value:,.1f} s"


def render_charts(charts: Charts, spend_title: str) -> dict[str, str]:
    """Every chart of a page as SVG text, by name (the page's figure ids)."""
    return {
        "cost-by-stage": _chart(
            "stacked", "Cost per stage, by agent", "cost-by-stage", charts.cost_by_stage, usd
        ),
        "tokens-by-stage": _chart(
            "stacked",
            "Tokens per stage, by agent",
            "tokens-by-stage",
            charts.tokens_by_stage,
            count,
        ),
        "cost-by-agent": _chart(
            "stacked", "Cost per agent, by stage", "cost-by-agent", charts.cost_by_agent, usd
        ),
        "tokens-by-agent": _chart(
            "stacked",
            "Tokens per agent, by stage",
            "tokens-by-agent",
            charts.tokens_by_agent,
            count,
        ),
        "latency-by-agent": _chart(
            "bar",
            "Latency per agent (slowest first)",
            "latency-by-agent",
            charts.latency_by_agent,
            seconds,
        ),
        "spend-over-time": _chart(
            "line", spend_title, "spend-over-time", charts.spend_over_time, usd
        ),
        "verdicts-over-time": _chart(
            "stacked",
            "Verdicts per day",
            "verdicts-over-time",
            charts.verdicts_over_time,
            count,
        ),
    }
