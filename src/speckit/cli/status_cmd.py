"""`speckit status [SPEC]`."""

from __future__ import annotations

import json
import sys

import click

from speckit.cli.context import app


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@click.command()
@click.argument("spec", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def status(ctx: click.Context, spec: str | None, as_json: bool) -> None:
    """Where each SPEC stands: tracker status, each stage's latest verdict, guardrail,
    tokens and cost so far, where auto halted and why, missing documents, evidence size.

    Calls no agent; reads the evidence index (.speckit/index.db), rebuilding it
    if it is missing or corrupt.
    """
    from speckit.pipeline.status import collect_status, stage_cell
    from speckit.specs.documents import resolve_spec
    from speckit.stages import STAGES

    workspace = app(ctx).workspace()
    spec_id = resolve_spec(workspace, spec) if spec else None
    rows = collect_status(workspace, spec_id)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if not rows:
        click.echo('no SPECs yet; create one with: speckit new "what to build"')
        return
    headers = ["SPEC", "tracker", *STAGES, "guardrail", "tokens", "cost", "evidence"]
    table_rows = []
    for row in rows:
        guard = row.guardrail["status"] if row.guardrail else "·"
        table_rows.append(
            [
                row.spec_id,
                row.tracker_status,
                *(stage_cell(row.stages.get(s)) for s in STAGES),
                guard,
                str(row.total_tokens),
                f"${row.total_cost_usd:.4f}",
                _size(row.evidence_bytes),
            ]
        )
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for header in headers:
            table.add_column(header, no_wrap=header == "SPEC")
        for cells in table_rows:
            table.add_row(*cells)
        Console().print(table)
    else:
        click.echo("\t".join(headers))
        click.echo("\n".join("\t".join(cells) for cells in table_rows))
    for row in rows:
        if row.halted_at:
            click.echo(f"{row.spec_id}: halted at {row.halted_at}: {row.halt_reason}")
            click.echo(f"  resume: {row.resume}")
        if row.missing_documents:
            click.echo(f"{row.spec_id}: missing {', '.join(row.missing_documents)}")
