"""`speckit demo`: a guided tour in a throw-away workspace."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click


@click.command()
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
    help="Build the demo workspace here and keep it (default: a temporary folder, removed).",
)  # fmt: skip
def demo(directory: Path | None) -> None:
    """Run the offline demo: init a workspace, create a SPEC, lint the tracker.

    Needs no network and no agent CLI.
    """
    from speckit.demo import run_demo

    if directory is not None:
        run_demo(directory, click.echo)
        return
    with tempfile.TemporaryDirectory(prefix="speckit-demo-") as temp:
        run_demo(Path(temp) / "demo", click.echo)
