"""The report page: one Jinja2 template with autoescaping on, and one stylesheet inlined.

Why Jinja2 rather than `html.escape` by hand: with `autoescape=True` every `{{ … }}` is
escaped unless the code hands over `Markup` on purpose, so a field added later cannot be
forgotten; by hand, each of a hundred places would have to remember. The only `Markup` is
the charts' SVG, which pygal serialized (text escaped) and from which the script was taken
out. The page also forbids every script and every load from elsewhere in its
Content-Security-Policy: an escaping mistake would still run nothing.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

from speckit import __version__
from speckit.report.models import Report, Run, verdict
from speckit.resources import read_data_text


def _money(value: float, unknown: int = 0) -> str:
    text = f"${value:,.4f}"
    return f"{text} (+{unknown} unknown)" if unknown else text


def _num(value: int | None) -> str:
    return "·" if value is None else f"{value:,}"


def _ratio(run: Run) -> str:
    return "·" if run.agreement_ratio is None else f"{run.agreement_ratio:.0%}"


def _environment(cache_dir: Path | None) -> Any:
    """The template environment; with `cache_dir`, compiled templates are kept there (the
    compile costs ~100 ms, a third of a one-SPEC report; the cache is keyed by the source)."""
    import jinja2

    cache = None
    if cache_dir is not None:
        with suppress(OSError):
            (cache_dir / "templates").mkdir(parents=True, exist_ok=True)
            cache = jinja2.FileSystemBytecodeCache(str(cache_dir / "templates"))
    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: read_data_text("report", name)),
        bytecode_cache=cache,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        money=_money, num=_num, ratio=_ratio, none_verdict=verdict(None), version=__version__
    )
    return environment


def render(report: Report, cache_dir: Path | None = None) -> str:
    """The whole page as text: styles and charts inline, nothing fetched, no script."""
    from markupsafe import Markup

    from speckit.report.charts import render_charts

    page = report.workspace or report.spec
    charts: dict[str, Markup] = {}
    if page is not None:
        title = (
            "Spend per day, against the daily cap"
            if report.workspace
            else "Spend so far, against the SPEC cap"
        )
        # pygal's serializer escaped every label; its script is removed (charts.py)
        charts = {k: Markup(svg) for k, svg in render_charts(page.charts, title).items()}
    css = Markup(read_data_text("report", "style.css"))  # package data: escaping breaks quotes
    template = _environment(cache_dir).get_template("page.html.j2")
    return str(template.render(report=report, charts=charts, css=css))
