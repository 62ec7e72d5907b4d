"""`speckit agents list` and `speckit agents check`: the roster and whether it can run."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from speckit.cli.context import app
from speckit.cli.options import json_option

if TYPE_CHECKING:
    from speckit.agents.check import AgentStatusRow


@click.group()
def agents() -> None:
    """The agent roster from speckit.toml: who takes part and whether it can run here."""


def _yes(flag: bool | None) -> str:
    return "yes" if flag else "no"


def _print_table(rows: list[AgentStatusRow], checked: bool) -> None:
    from rich.table import Table

    from speckit.views import output_console

    table = Table(box=None, pad_edge=False)
    for column in ("Agent", "Driver", "Model", "Role", "Enabled"):
        table.add_column(column, no_wrap=True)
    table.add_column("Usable" if checked else "Found", no_wrap=True)
    table.add_column("Version / reason" if checked else "Path / reason")
    for row in rows:
        usable = row.usable if checked else row.found
        detail = (row.version or row.detail) if checked and row.usable else row.detail
        table.add_row(
            row.name,
            row.driver,
            row.model or "-",
            row.role,
            _yes(row.enabled),
            "[green]yes[/]" if usable else "[red]no[/]",
            detail,
        )
    output_console().print(table)
    for row in rows:
        if row.fallback:
            click.echo(
                f"fallback: {row.name} -> {row.fallback} (when {row.name} is out of quota, "
                "rate-limited or not authenticated)"
            )


@agents.command("list")
@json_option()
@click.pass_context
def list_agents(ctx: click.Context, as_json: bool) -> None:
    """List every agent: driver, model, role, enabled, and whether its tool is found.

    Nothing is run: a CLI agent is found when its program is on PATH, a
    scripted one when its script file exists, an HTTP one when its key
    variable is set.
    """
    from speckit.agents.check import roster

    workspace = app(ctx).workspace()
    rows = roster(workspace.config, workspace.root)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    if not rows:
        click.echo("no agents in speckit.toml; add an [agents.<name>] table")
        return
    _print_table(rows, checked=False)


@agents.command("check")
@json_option()
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds each `--version` may take (a local model gets its agent's timeout).",
)
@click.pass_context
def check(ctx: click.Context, as_json: bool, timeout: float) -> None:
    """Run each installed CLI's --version and report which agents are usable.

    A local model (llama_cpp) is loaded and generates a few tokens from a real
    prompt, in a child process, so a build that crashes on this CPU shows here.
    No paid model is called. Exit 0 when every enabled agent is usable, 1 otherwise.
    """
    import asyncio

    from speckit.agents.check import check_agents

    workspace = app(ctx).workspace()
    rows = asyncio.run(check_agents(workspace.config, workspace.root, timeout))
    enabled = [row for row in rows if row.enabled]
    unusable = [row.name for row in enabled if not row.usable]
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
    else:
        if rows:
            _print_table(rows, checked=True)
        if not enabled:
            click.echo("no enabled agents")
        elif unusable:
            click.echo(f"not usable: {', '.join(unusable)}")
        else:
            click.echo(f"all {len(enabled)} enabled agents usable")
    ctx.exit(1 if unusable else 0)
