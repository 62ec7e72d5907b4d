"""The main working tree, before and after: proof that no agent touched it.

`snapshot` records HEAD (and its branch) and, per path, git's status with a hash of the
file's content; `changes_since` compares a new snapshot with it. speckit's own folders and
the worktrees nested in the tree are left out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from speckit.implement.git import git, git_text, registered_worktrees


@dataclass(frozen=True)
class TreeSnapshot:
    """What the main working tree held: HEAD (and its branch), and per path the status git
    gives (index and HEAD blob ids) with a hash of the file's content in the tree."""

    head: str | None
    ref: str | None
    entries: dict[str, tuple[str, ...]]


def _excludes(repo: Path, exclude: Sequence[Path]) -> list[str]:
    """`:(exclude)` pathspecs for the folders inside `repo`, speckit's worktrees among them."""
    top = repo.resolve()
    paths = list(exclude)
    paths += [path for path, _branch in registered_worktrees(repo)[1:]]  # nested worktrees
    specs = []
    for path in paths:
        with contextlib.suppress(ValueError, OSError):
            rel = path.resolve().relative_to(top)
            if rel.parts:
                specs.append(f":(exclude,literal){rel.as_posix()}")
    return specs


def _content(path: Path) -> str:
    """A hash of what is at `path` now: file bytes, a link's target, or its absence."""
    try:
        info = os.lstat(path)
    except OSError:
        return "absent"
    if stat.S_ISLNK(info.st_mode):
        return "link:" + os.readlink(path)
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    digest = hashlib.blake2b(digest_size=16)
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    return f"{info.st_mode & 0o111:o}:{digest.hexdigest()}"


def snapshot(repo: Path, exclude: Sequence[Path]) -> TreeSnapshot:
    """HEAD, the index, tracked files' content and untracked files git does not ignore, of
    the main working tree, leaving out `exclude` (and speckit's worktrees). Read-only: git
    is told not to refresh the user's index on the way."""
    head_done = git(["rev-parse", "--verify", "-q", "HEAD"], repo, ok=(0, 1, 128))
    head = head_done.stdout.decode().strip() or None if head_done.returncode == 0 else None
    ref_done = git(["symbolic-ref", "-q", "HEAD"], repo, ok=(0, 1, 128))
    ref = ref_done.stdout.decode().strip() or None if ref_done.returncode == 0 else None
    args = [
        "--no-optional-locks",
        "status",
        "--porcelain=v2",
        "-z",
        "--untracked-files=all",
        "--no-renames",
        "--ignore-submodules=none",
        "--",
        ".",
        *_excludes(repo, exclude),
    ]
    out = git_text(args, repo)
    entries: dict[str, tuple[str, ...]] = {}
    for item in out.split("\0"):
        if not item:
            continue
        kind = item[0]
        if kind == "?":
            path = item[2:]
            entries[path] = ("?", _content(repo / path))
        elif kind == "1":
            fields = item.split(" ", 8)  # 1 XY sub mH mI mW hH hI path
            path = fields[8]
            entries[path] = (*fields[1:8], _content(repo / path))
        elif kind == "u":
            fields = item.split(" ", 10)  # u XY sub m1 m2 m3 mW h1 h2 h3 path
            path = fields[10]
            entries[path] = (*fields[1:10], _content(repo / path))
    return TreeSnapshot(head, ref, entries)


def changes_since(repo: Path, before: TreeSnapshot, exclude: Sequence[Path]) -> list[str]:
    """Repository-relative paths that changed in the main working tree since `before`
    (`[]`: untouched). A moved HEAD (a commit, a checkout, a reset) is the entry "HEAD"."""
    after = snapshot(repo, exclude)
    changed = sorted(
        path
        for path in before.entries.keys() | after.entries.keys()
        if before.entries.get(path) != after.entries.get(path)
    )
    if (before.head, before.ref) != (after.head, after.ref):
        changed.insert(0, "HEAD")
    return changed
