"""Clean-tree check (plan stage): no modified or staged tracked files, except the stage's inputs.

The SPEC's own documents (`docs/<SPEC>/`) and the tracker (`SPEC.md`) are what the
plan stage reads, and `speckit new` has just written them: changes there (modified,
added, untracked or deleted) are allowed and their sha256 recorded, so the record
says exactly which uncommitted text the agents saw. Any other modified or staged
tracked file fails the check (another SPEC's documents included); other untracked
files do not count. speckit's own evidence root and cache folder are excluded by
pathspec, so the evidence a run writes can never block the next run. A workspace
outside any git repository is `skipped` (nothing to protect).

The git calls run in parallel (one process each, ~5 ms apiece), not one after another.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from speckit.guardrails.result import CheckResult, Timer
from speckit.workspace import TRACKER_FILE

NAME = "clean-tree"
_SHOWN = 5
_TIMEOUT_S = 60
_UNTRACKED = "??"  # porcelain v1 code of an untracked file


@dataclass(frozen=True)
class AllowedChange:
    """A change to a stage input, with the content hash of what is on disk now."""

    path: str  # workspace-relative POSIX path
    change: str  # modified | added | deleted | untracked
    sha256: str | None  # None when the file is gone

    def as_record(self) -> dict[str, str | None]:
        return {"path": self.path, "change": self.change, "sha256": self.sha256}


@dataclass
class TreeState:
    """What git reports: files that block (repo-relative) and allowed input changes."""

    blocking: list[str] = field(default_factory=list)
    allowed: list[AllowedChange] = field(default_factory=list)


def _start(git: str, root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [git, "--no-optional-locks", *args],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_parallel(git: str, root: Path, calls: list[list[str]]) -> list[tuple[int, str, str]]:
    """(returncode, stdout, stderr) of each git call, all started before any is awaited."""
    started = [_start(git, root, *args) for args in calls]
    try:
        results = []
        for process in started:
            out, err = process.communicate(timeout=_TIMEOUT_S)
            results.append((process.returncode, out, err))
        return results
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()


def _exclusions(root: Path, excluded: Iterable[Path]) -> list[str]:
    """Pathspecs (relative to `root`, git's cwd) leaving out speckit's own folders."""
    specs = []
    for path in excluded:
        resolved = path.resolve()
        if resolved.is_relative_to(root) and resolved != root:
            specs.append(f":(exclude,literal){resolved.relative_to(root).as_posix()}")
    return specs


def _entries(porcelain: str) -> list[tuple[str, str]]:
    """(XY code, repo-relative path) from `git status --porcelain=v1 -z --no-renames`."""
    return [(item[:2], item[3:]) for item in porcelain.split("\0") if len(item) > 3]


def _change(code: str) -> str:
    if code == _UNTRACKED:
        return "untracked"
    if "D" in code:
        return "deleted"
    return "added" if code[0] == "A" else "modified"


def _sha256(path: Path) -> str | None:
    """Hash of the file as git would store it: a symlink's target text, never what it points to."""
    import hashlib  # loads OpenSSL: only paid when there is something to hash

    digest = hashlib.sha256()
    try:
        if path.is_symlink():
            digest.update(str(path.readlink()).encode("utf-8", "surrogateescape"))
        elif path.is_file():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 16), b""):
                    digest.update(block)
        else:
            return None
    except OSError:
        return None
    return digest.hexdigest()


def tree_state(
    root: Path, excluded: Iterable[Path], allowed: Iterable[Path] = ()
) -> TreeState | str:
    """Changed files under git, or a reason string if git can't say.

    `allowed` are workspace paths (files or folders) whose changes, untracked files
    included, are recorded with their hash instead of failing the check.
    """
    git = shutil.which("git")
    if git is None:
        return "git is not installed"
    root = root.resolve()
    excludes = _exclusions(root, excluded)
    inputs = [
        p.absolute().relative_to(root).as_posix()
        for p in allowed
        if p.absolute().is_relative_to(root) and p.absolute() != root
    ]
    status = ["status", "--porcelain=v1", "-z", "--no-renames"]
    calls = [
        ["rev-parse", "--show-prefix"],
        [*status, "--untracked-files=no", "--", ":/", *excludes],
    ]
    if inputs:
        calls.append([*status, "--untracked-files=all", "--",
                      *(f":(literal){p}" for p in inputs), *excludes])  # fmt: skip
    where, *found = _run_parallel(git, root, calls)
    if where[0] != 0:
        return "not a git repository"
    for returncode, _out, err in found:
        if returncode != 0:
            last = (err.strip().splitlines() or [f"exit {returncode}"])[-1]
            raise RuntimeError(f"git status failed: {last}")
    prefix = where[1].rstrip("\n")  # the workspace's folder inside the repository, or ""
    state = TreeState()
    inside = [f"{prefix}{p}" for p in inputs]
    allowed_paths: set[str] = set()
    for _returncode, out, _err in found[1:]:  # the inputs: every change, untracked included
        for code, path in _entries(out):
            if path.startswith(prefix) and path not in allowed_paths:
                allowed_paths.add(path)
                shown = path[len(prefix) :]
                state.allowed.append(AllowedChange(shown, _change(code), _sha256(root / shown)))
    for _code, path in _entries(found[0][1]):
        if path in allowed_paths or _is_inside(path, inside):
            continue
        state.blocking.append(path)
    state.blocking.sort()
    state.allowed.sort(key=lambda change: change.path)
    return state


def _is_inside(path: str, tops: list[str]) -> bool:
    return any(path == top or path.startswith(f"{top}/") for top in tops)


def stage_inputs(root: Path, spec_dir: Path) -> list[Path]:
    """The plan stage's inputs whose changes are allowed: the SPEC's folder and the tracker."""
    return [spec_dir, root / TRACKER_FILE]


def _listing(files: list[str]) -> str:
    shown = ", ".join(files[:_SHOWN])
    more = f" and {len(files) - _SHOWN} more" if len(files) > _SHOWN else ""
    return f"{len(files)} modified or staged tracked file(s): {shown}{more}"


def _inputs_note(allowed: list[AllowedChange]) -> str:
    if not allowed:
        return ""
    return f"; {len(allowed)} changed SPEC input(s) allowed, hashes recorded"


@dataclass
class TreeCheck:
    """The check, the blocking files it found and the allowed input changes."""

    result: CheckResult
    modified: list[str] = field(default_factory=list)
    allowed: list[AllowedChange] = field(default_factory=list)


def check_clean_tree(
    root: Path, excluded: Iterable[Path], allowed_by: str | None, inputs: Iterable[Path] = ()
) -> TreeCheck:
    """`allowed_by` names what allows a dirty tree (the flag or the env var), or is None;
    `inputs` are the stage's input paths whose changes never block."""
    timer = Timer(NAME)
    try:
        state = tree_state(root, excluded, inputs)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return TreeCheck(timer.result("failed", str(exc)))
    if isinstance(state, str):
        return TreeCheck(timer.result("skipped", state))
    found, note = state.blocking, _inputs_note(state.allowed)
    if not found:
        reason = f"no modified or staged tracked files{note}"
        return TreeCheck(timer.result("passed", reason), [], state.allowed)
    if allowed_by:
        reason = f"dirty tree allowed by {allowed_by}: {_listing(found)}{note}"
        return TreeCheck(timer.result("passed", reason), found, state.allowed)
    reason = (
        f"{_listing(found)}; commit or stash them, or pass --allow-dirty (SPEC_OPS_ALLOW_DIRTY=1)"
    )
    return TreeCheck(timer.result("failed", reason), found, state.allowed)
