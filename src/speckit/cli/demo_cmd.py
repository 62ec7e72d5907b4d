"""`speckit demo`: the pipeline on a sample SPEC in a throw-away workspace."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Build the demo workspace here and keep it (default: a temporary folder, removed).",
)
@click.pass_context
def demo(ctx: click.Context, directory: Path | None) -> None:
    """Run the offline demo: init, new, auto halting on a conflict, auto clean, status.

    Uses scripted agents (no network, no agent CLI, no API key). Exit 0 when
    the demo behaved as expected: one halt (exit 2), then a clean run (exit 0).
    """
    from speckit.demo import run_demo

    if directory is not None:
        if directory.exists() and any(directory.iterdir()):
            from speckit.errors import UsageError

            raise UsageError(f"{directory} is not empty; give a new folder to --dir")
        ctx.exit(run_demo(directory.resolve(), click.echo))
    with tempfile.TemporaryDirectory(prefix="speckit-demo-") as temp:
        code = run_demo(Path(temp) / "demo", click.echo)
    ctx.exit(code)
