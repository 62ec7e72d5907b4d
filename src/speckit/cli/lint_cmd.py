"""`speckit lint [PATH]`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from speckit.cli.context import app
from speckit.errors import SpeckitError


def _tracker_path(ctx: click.Context, path: Path | None) -> Path:
    if path is None:
        return app(ctx).workspace().tracker_path
    return path / "SPEC.md" if path.is_dir() else path


@click.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def lint(ctx: click.Context, path: Path | None, output: str) -> None:
    """Check SPEC.md (PATH: the file or its folder; default: the workspace's).

    \b
    Tracker rules: header; 11 cells a row; unique Order; Status one of Backlog,
    In Progress, In Review, Blocked, Done; Owners for In Progress/In Review;
    PRD and Evidence paths exist; Last Validation is YYYY-MM-DD; Branch has
    no spaces; no stray (text or blank) line between rows, which ends the
    table in Markdown (the rows below it are still checked). Each
    docs/SPEC-*/tasks.md: unique task ids, valid statuses, no stray lines.

    Prints path:line: rule-id: message. Exit 0 clean, 1 findings or no file.
    """
    from speckit.specs.lint import lint_workspace

    tracker = _tracker_path(ctx, path)
    if not tracker.is_file():
        raise SpeckitError(f"{tracker}: not found (give SPEC.md or the folder holding it)")
    findings = lint_workspace(tracker)
    if output == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        for finding in findings:
            click.echo(str(finding))
        summary = f"{len(findings)} finding(s)" if findings else "clean"
        click.echo(f"{tracker}: {summary}", err=True)
    ctx.exit(1 if findings else 0)
