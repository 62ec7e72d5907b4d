"""`speckit demo`: the pipeline on a sample SPEC in a workspace that is kept to look at."""

from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path

import click


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Build the demo workspace in this new folder (default: a new temporary folder).",
)
@click.option(
    "--cleanup",
    is_flag=True,
    help="Remove the demo workspace when the demo ends (default: keep it and say where).",
)
@click.option(
    "--no-local",
    is_flag=True,
    help="Skip the last step, the plan stage answered by a real local model (speckit[local]).",
)
@click.pass_context
def demo(ctx: click.Context, directory: Path | None, cleanup: bool, no_local: bool) -> None:
    """Run the offline demo: init, new, auto halting on a conflict, auto clean, status.

    Uses scripted agents (no network, no agent CLI, no API key). The workspace
    is kept, with its evidence, unless --cleanup. Exit 0 when the demo behaved
    as expected: one halt (exit 2), then a clean run (exit 0).
    """
    from speckit.demo import run_demo
    from speckit.errors import UsageError

    if directory is not None:
        if cleanup:
            raise UsageError("--dir keeps the demo workspace and --cleanup removes it: give one")
        if directory.exists() and any(directory.iterdir()):
            raise UsageError(f"{directory} is not empty; give a new folder to --dir")
        top = directory.resolve()
        root = top
    else:
        top = Path(tempfile.mkdtemp(prefix="speckit-demo-"))
        root = top / "demo"
    try:
        code = run_demo(root, click.echo, local=not no_local)
    finally:
        if cleanup:
            shutil.rmtree(top, ignore_errors=True)
    if cleanup:
        click.echo("\n# the demo workspace was removed (--cleanup); without it, it is kept")
    else:
        _say_kept(root, top)
    ctx.exit(code)


def _say_kept(root: Path, top: Path) -> None:
    """Where the workspace is, how to look at it and how to remove it (copy-pasteable)."""
    click.echo(f"\n# the demo workspace is kept, with its evidence: {root}")
    click.echo(f"#   look around: cd {shlex.quote(str(root))} && speckit status")
    click.echo(f"#   evidence:    {root / 'evidence'}")
    from speckit.demo import pipeline_documents

    for spec in sorted((root / "docs").glob("SPEC-*")):
        for document in pipeline_documents(root, spec.name):
            click.echo(f"#   document:    {document}")
    click.echo(f"#   remove it:   rm -rf {shlex.quote(str(top))}")
    click.echo("# try the flow on your own SPEC: speckit init --scripted myproject")
