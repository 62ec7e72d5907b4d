"""`speckit report [SPEC…] [-o FILE] [--open]`."""

from __future__ import annotations

from pathlib import Path

import click

from speckit.cli.context import app, evidence_spec


@click.command()
@click.argument("specs", nargs=-1)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the page here (default: evidence/reports/<SPEC>.html, or "
    "evidence/reports/index.html for the whole workspace). One SPEC at most.",
)
@click.option("--open", "open_page", is_flag=True, help="Open the page in the browser after.")
@click.pass_context
def report(
    ctx: click.Context, specs: tuple[str, ...], output: Path | None, open_page: bool
) -> None:
    """One self-contained HTML page: timeline, agents, verdicts, spend and charts.

    Without SPEC, the whole workspace (one row per SPEC, spend by day and by agent, the
    costliest runs); with SPECs, one page each. The page loads nothing from the network and
    runs no script; its links to evidence files are relative. Calls no agent.

    \b
    Example:  speckit report
              speckit report SPEC-KIT-005 -o /tmp/spec.html --open
    """
    from speckit.errors import UsageError
    from speckit.report.make import make_report

    if output is not None and len(specs) > 1:
        raise UsageError("-o names one file: give at most one SPEC with it")
    workspace = app(ctx).workspace()
    # every SPEC is checked before any page is written
    spec_ids: list[str | None] = [evidence_spec(workspace, spec) for spec in specs] or [None]
    written = [make_report(workspace, spec_id, output) for spec_id in spec_ids]
    for path in written:
        click.echo(f"report: {path}")
    if open_page:
        click.launch(str(written[-1]))
