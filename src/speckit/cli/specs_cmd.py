"""`speckit new` and `speckit specs`."""

from __future__ import annotations

import json

import click

from speckit.cli.context import app
from speckit.cli.options import json_option


@click.command()
@click.argument("description")
@click.option("--area", help="Upper-case area for the id (default: [specs].area, e.g. KIT).")
@click.option("--id", "spec_id", help="Use this exact id instead of allocating one.")
@click.option(
    "--draft",
    is_flag=True,
    help="Then run the specify stage: the agents write spec.md from the description.",
)
@click.pass_context
def new(
    ctx: click.Context, description: str, area: str | None, spec_id: str | None, draft: bool
) -> None:
    """Create a SPEC from a one-line DESCRIPTION.

    Allocates SPEC-<AREA>-<NNN>-<slug> (NNN: the next free number in steps of
    [specs].number_step), writes docs/<id>/spec.md, plan.md and tasks.md from
    the templates and adds a Backlog row to SPEC.md. With --draft, the specify
    stage then asks the agents for the spec (same exit codes as `speckit run`).

    \b
    Example:  speckit new "Add login rate limiting" --area AUTH
              speckit new "Add login rate limiting" --draft
    """
    from speckit.specs.documents import create_spec

    workspace = app(ctx).workspace()
    new_id, line = create_spec(workspace, description, area=area, spec_id=spec_id)
    click.echo(f"created  docs/{new_id}/spec.md, plan.md, tasks.md")
    click.echo(f"tracker  SPEC.md:{line}: {new_id} (Backlog)")
    if not draft:
        click.echo(f"next     edit docs/{new_id}/spec.md, then: speckit run plan {new_id}")
        return
    from speckit.cli.live_progress import progress_printer
    from speckit.cli.verdict_view import print_stage_run
    from speckit.pipeline.stage import StageOptions, run_stage

    click.echo(f"specify {new_id}: guardrail, then the agents…", err=True)
    progress = progress_printer()  # a live line per running agent on a terminal
    options = StageOptions(on_progress=progress, prewarm=("rich.console", "rich.table"))
    try:
        stage_run = run_stage(workspace, new_id, "specify", options)
    finally:
        progress.close()
    print_stage_run(stage_run, workspace.root)
    if stage_run.exit_code(False) == 0:
        click.echo(f"next     review docs/{new_id}/spec.md, then: speckit run plan {new_id}")
    ctx.exit(stage_run.exit_code(False))


@click.command()
@json_option()
@click.pass_context
def specs(ctx: click.Context, as_json: bool) -> None:
    """List SPECs with their tracker status and missing documents."""
    from speckit.specs.documents import list_specs

    workspace = app(ctx).workspace()
    infos = list_specs(workspace)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "spec_id": i.spec_id,
                        "title": i.title,
                        "status": i.status,
                        "folder": str(i.folder.relative_to(workspace.root)),
                        "missing_documents": list(i.missing_documents),
                        "tracker_line": i.tracker_line,
                    }
                    for i in infos
                ],
                indent=2,
            )
        )
        return
    if not infos:
        click.echo('no SPECs yet; create one with: speckit new "what to build"')
        return
    from rich.table import Table

    from speckit.views import output_console

    table = Table(box=None, pad_edge=False)
    table.add_column("SPEC", no_wrap=True)
    for column in ("Status", "Title", "Missing"):
        table.add_column(column)
    for info in infos:
        table.add_row(info.spec_id, info.status, info.title, ", ".join(info.missing_documents))
    output_console().print(table)
