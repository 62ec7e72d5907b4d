"""`speckit tui`."""

from __future__ import annotations

import click

from speckit.cli.context import app


@click.command()
@click.pass_context
def tui(ctx: click.Context) -> None:
    """Open the terminal UI on the workspace: SPECs, run history, slash commands.

    Type /help inside for the commands (/spec-plan SPEC, /spec-auto SPEC, /status,
    /set-env NAME=VALUE, /new "description", ...). Esc or Ctrl+C cancels a run
    and kills its agents; Ctrl+Y copies the newest run's evidence paths; Ctrl+Q quits.
    """
    workspace = app(ctx).workspace()
    workspace.config  # noqa: B018 - a broken speckit.toml is one line here, not inside the UI

    from speckit.tui.app import run_app

    run_app(workspace.root)
