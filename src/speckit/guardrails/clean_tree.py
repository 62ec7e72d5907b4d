"""Clean-tree check (plan stage): no modified or staged tracked files.

As the earlier system did (`git diff`, `git diff --cached`), untracked files do
not count. speckit's own evidence root and cache folder are excluded by
pathspec, so the evidence a run writes can never block the next run.
A workspace outside any git repository is `skipped` (nothing to protect).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from speckit.guardrails.result import CheckResult, Timer

NAME = "clean-tree"
_SHOWN = 5


def _git(git: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [git, *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
    )


def _pathspecs(top: Path, excluded: Iterable[Path]) -> list[str]:
    specs = [":/"]  # the whole repository, wherever the workspace sits in it
    for path in excluded:
        resolved = path.resolve()
        if resolved.is_relative_to(top) and resolved != top:
            specs.append(f":(top,exclude,literal){resolved.relative_to(top).as_posix()}")
    return specs


def changed_files(root: Path, excluded: Iterable[Path]) -> list[str] | str:
    """Modified or staged tracked files (repo-relative), or a reason string if git can't say."""
    git = shutil.which("git")
    if git is None:
        return "git is not installed"
    top_run = _git(git, root, "rev-parse", "--show-toplevel")
    if top_run.returncode != 0:
        return "not a git repository"
    top = Path(top_run.stdout.strip()).resolve()
    specs = _pathspecs(top, excluded)
    files: set[str] = set()
    for cached in ([], ["--cached"]):
        run = _git(git, root, "diff", *cached, "--no-ext-diff", "--name-only", "-z", "--", *specs)
        if run.returncode != 0:
            raise RuntimeError(f"git diff failed: {run.stderr.strip().splitlines()[-1:]}")
        files.update(name for name in run.stdout.split("\0") if name)
    return sorted(files)


def _listing(files: list[str]) -> str:
    shown = ", ".join(files[:_SHOWN])
    more = f" and {len(files) - _SHOWN} more" if len(files) > _SHOWN else ""
    return f"{len(files)} modified or staged tracked file(s): {shown}{more}"


def check_clean_tree(
    root: Path, excluded: Iterable[Path], allowed_by: str | None
) -> tuple[CheckResult, list[str]]:
    """The check and the modified files it found; `allowed_by` names what allows a dirty tree
    (the flag or the env var), or is None."""
    timer = Timer(NAME)
    try:
        found = changed_files(root, excluded)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return timer.result("failed", str(exc)), []
    if isinstance(found, str):
        return timer.result("skipped", found), []
    if not found:
        return timer.result("passed", "no modified or staged tracked files"), []
    if allowed_by:
        reason = f"dirty tree allowed by {allowed_by}: {_listing(found)}"
        return timer.result("passed", reason), found
    reason = (
        f"{_listing(found)}; commit or stash them, or pass --allow-dirty (SPEC_OPS_ALLOW_DIRTY=1)"
    )
    return timer.result("failed", reason), found
