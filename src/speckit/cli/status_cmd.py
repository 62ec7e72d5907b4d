"""`speckit status [SPEC]`."""

from __future__ import annotations

import json
import sys

import click

from speckit.cli.context import app
from speckit.cli.options import json_option


@click.command()
@click.argument("spec", required=False)
@json_option()
@click.pass_context
def status(ctx: click.Context, spec: str | None, as_json: bool) -> None:
    """Where each SPEC stands: tracker status, each stage's latest verdict, guardrail,
    tokens and cost so far, where auto halted and why, missing documents, evidence size.

    Calls no agent; reads the evidence index (.speckit/index.db), rebuilding it
    if it is missing or corrupt.
    """
    from speckit.pipeline.status import collect_status, status_table
    from speckit.specs.documents import resolve_spec

    workspace = app(ctx).workspace()
    spec_id = resolve_spec(workspace, spec) if spec else None
    rows = collect_status(workspace, spec_id)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if not rows:
        click.echo('no SPECs yet; create one with: speckit new "what to build"')
        return
    table = status_table(rows, evidence=True)
    if sys.stdout.isatty():
        from rich.console import Console

        from speckit.views import status_grid

        Console().print(status_grid(table))
    else:
        click.echo("\t".join(table.headers))
        click.echo("\n".join("\t".join(cells) for cells in table.rows))
    for note in table.notes:
        click.echo(note)
