"""`speckit cost [SPEC] [--by spec|stage|agent|day] [--json]`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

import click

from speckit.cli.context import app, evidence_spec
from speckit.cli.options import json_option

if TYPE_CHECKING:
    from speckit.evidence.spend import CostReport, Grouping


@click.command()
@click.argument("spec", required=False)
@click.option(
    "--by",
    type=click.Choice(["spec", "stage", "agent", "day"]),
    default=None,
    help="One line per SPEC, SPEC stage, agent or UTC day "
    "(default: per SPEC, or per stage when SPEC is given).",
)
@json_option("Print the figures as JSON.")
@click.pass_context
def cost(ctx: click.Context, spec: str | None, by: str | None, as_json: bool) -> None:
    """Spend and tokens, answer-cache savings, escalations avoided and budget left.

    Read from the evidence index (agent metrics and guardrail policy calls); no agent is
    called. Calls whose cost is not known are counted apart, never as $0. Cache savings are
    estimated from the same agent's paid calls in that stage.

    \b
    Example:  speckit cost
              speckit cost SPEC-KIT-005 --by agent
    """
    from speckit.evidence.index import open_index
    from speckit.evidence.naming import utc_timestamp
    from speckit.evidence.spend import cost_report

    workspace = app(ctx).workspace()
    spec_id = evidence_spec(workspace, spec) if spec else None
    grouping = cast("Grouping", by or ("stage" if spec_id else "spec"))  # a click.Choice
    _index, connection = open_index(workspace.evidence_root, workspace.cache_dir)
    try:
        report = cost_report(
            connection,
            spec_id,
            grouping,
            workspace.config.budget.caps,
            utc_timestamp()[:10],
        )
    finally:
        connection.close()
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
        return
    _print(report)


def _money(value: float, unknown: int = 0) -> str:
    from speckit.pipeline.budget import usd

    return usd(value) + (f" (+{unknown} unknown)" if unknown else "")


def _print(report: CostReport) -> None:
    title = f"cost by {report.by}" + (f" for {report.spec_id}" if report.spec_id else "")
    click.echo(title)
    if not report.rows:
        click.echo("  no spend recorded yet")
    width = max([len(row.key) for row in report.rows] + [len(report.by), 5])
    header = (
        f"  {report.by:<{width}}  {'runs':>4}  {'calls':>5}  {'tokens':>10}  "
        f"{'in':>9}  {'out':>9}  {'cost':<18}  {'cache hits':>10}  {'saved':<14}  "
        "escalations avoided"
    )
    click.echo(header)
    for row in [*report.rows, report.total]:
        tokens = f"{row.total_tokens:,}" + ("+?" if row.unknown_tokens else "")
        saved = _money(row.cache_saved_usd, row.cache_saved_unknown) if row.cache_hits else "-"
        avoided = "-" if row.escalations_avoided is None else str(row.escalations_avoided)
        click.echo(
            f"  {row.key:<{width}}  {row.runs:>4}  {row.calls:>5}  {tokens:>10}  "
            f"{row.prompt_tokens:>9,}  {row.completion_tokens:>9,}  "
            f"{_money(row.cost_usd, row.unknown_cost):<18}  {row.cache_hits:>10}  {saved:<14}  "
            f"{avoided}"
        )
    if not report.budget:
        click.echo("budget: no cap set ([budget] in speckit.toml)")
        return
    click.echo("budget")
    for cap in report.budget:
        if cap.spent_usd is None:
            click.echo(f"  {cap.cap:<6} {cap.scope}: at most {_money(cap.limit_usd)}")
            continue
        left = cap.left_usd or 0.0
        standing = f"left {_money(left)}" if left >= 0 else f"over by {_money(-left)}"
        unknown = f" (+{cap.unknown_calls} calls of unknown cost)" if cap.unknown_calls else ""
        click.echo(
            f"  {cap.cap:<6} {cap.scope}: spent {_money(cap.spent_usd)}{unknown} of "
            f"{_money(cap.limit_usd)}, {standing}"
        )
