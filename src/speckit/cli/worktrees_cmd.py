"""`speckit worktrees list|prune`: the git worktrees and branches implement leaves behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from speckit.cli.context import app
from speckit.cli.options import json_option

if TYPE_CHECKING:
    from speckit.implement.worktrees import WorktreeInfo

STATE_STYLE = {"running": "cyan", "stale": "yellow", "finished": "default", "applied": "green"}


@click.group()
def worktrees() -> None:
    """Implement's git worktrees (.speckit/worktrees/<SPEC>/<run>/<agent>) and branches
    (speckit/<SPEC>/<agent>-<run>).

    \b
    Each implementer codes in a worktree of its own; a run removes them when it ends.
    A run killed hard (kill -9, a crash) leaves them behind: its state is then "stale".
    States: running (its speckit process still runs), stale (that process is gone),
    finished (the run ended and kept something, e.g. [implement] apply = "branch"),
    applied (the branch's commit is on one of your branches).
    """


def _repo_and_root(ctx: click.Context) -> tuple[Path, Path]:
    from speckit.implement.git import git_toplevel

    workspace = app(ctx).workspace()
    return git_toplevel(workspace.root), workspace.root


def _print(infos: list[WorktreeInfo], root: Path) -> None:
    from rich.table import Table

    from speckit.views import output_console

    table = Table(box=None, pad_edge=False)
    for column in ("SPEC", "Run", "Agent", "Branch", "State", "Path"):
        table.add_column(column, no_wrap=column != "Path")
    for info in infos:
        row = info.as_dict(root)
        state = str(row["state"]) + (" (kept)" if info.kept else "")
        table.add_row(
            info.spec_id,
            info.run_key,
            info.agent,
            info.branch or "-",
            f"[{STATE_STYLE.get(str(row['state']), 'default')}]{state}[/]",
            str(row["path"] or "- (branch only)"),
        )
    output_console().print(table)


@worktrees.command("list")
@json_option()
@click.pass_context
def list_worktrees(ctx: click.Context, as_json: bool) -> None:
    """List speckit's worktrees and speckit/* branches with their state.

    Paths are relative to the workspace; "branch only" means the worktree is gone and
    its branch is left (merge it with 'git merge <branch>', or drop it).
    """
    from speckit.implement.worktrees import list_worktrees as listed

    repo, root = _repo_and_root(ctx)
    infos = listed(repo, root)
    if as_json:
        click.echo(json.dumps([info.as_dict(root) for info in infos], indent=2))
        return
    if not infos:
        click.echo("no speckit worktrees or branches")
        return
    _print(infos, root)


@worktrees.command()
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Also remove finished and applied runs' worktrees and branches.",
)
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@json_option()
@click.pass_context
def prune(ctx: click.Context, everything: bool, dry_run: bool, as_json: bool) -> None:
    """Remove the worktrees and branches of stale runs (their speckit process is gone).

    \b
    A running run is never touched. With --all, finished and applied runs go too,
    except a branch kept on purpose ([implement] apply = "branch") whose commit is
    not merged anywhere yet: speckit never deletes work it handed to you. Merge it
    (git merge <branch>) or delete it yourself (git branch -D <branch>).
    Ends with 'git worktree prune'.
    """
    from speckit.implement.worktrees import list_worktrees as listed
    from speckit.implement.worktrees import prune_stale

    repo, root = _repo_and_root(ctx)
    removed = prune_stale(repo, root, everything=everything, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps([info.as_dict(root) for info in removed], indent=2))
        return
    verb = "would remove" if dry_run else "removed"
    for info in removed:
        where = info.as_dict(root)["path"] or "-"
        click.echo(f"{verb} {info.state:<8} {info.branch or '-'}  {where}")
    click.echo(f"{verb} {len(removed)} worktree(s)/branch(es)" if removed else "nothing to prune")
    left = [info for info in listed(repo, root) if info.kept and not info.merged]
    for info in left if not dry_run else []:
        click.echo(f"kept {info.branch}: merge it (git merge {info.branch}) or git branch -D it")
