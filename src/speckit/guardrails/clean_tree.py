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
    prefix: str = ""  # the workspace's folder inside the repository ("" at its top)


def _start(git: str, root: Path, args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [git, "--no-optional-locks", *args],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _collect(started: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    """(returncode, stdout, stderr) of each git call; none is left running."""
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


class TreeQuery:
    """The git calls of one clean-tree check, started at once and read by `state()`.

    Starting them first lets the guardrail audit the SPEC while git works.
    `allowed` are workspace paths (files or folders) whose changes, untracked files
    included, are recorded with their hash instead of failing the check.
    """

    def __init__(self, root: Path, excluded: Iterable[Path], allowed: Iterable[Path] = ()):
        self.root = root.resolve()
        self.inputs = [
            p.absolute().relative_to(self.root).as_posix()
            for p in allowed
            if p.absolute().is_relative_to(self.root) and p.absolute() != self.root
        ]
        self.reason: str | None = None
        self.started: list[subprocess.Popen[str]] = []
        git = shutil.which("git")
        if git is None:
            self.reason = "git is not installed"
            return
        excludes = _exclusions(self.root, excluded)
        status = ["status", "--porcelain=v1", "-z", "--no-renames"]
        calls = [
            ["rev-parse", "--show-prefix"],
            [*status, "--untracked-files=no", "--", ":/", *excludes],
        ]
        if self.inputs:
            calls.append([*status, "--untracked-files=all", "--",
                          *(f":(literal){p}" for p in self.inputs), *excludes])  # fmt: skip
        try:
            for args in calls:
                self.started.append(_start(git, self.root, args))
        except BaseException:
            _collect(self.started)
            raise

    def state(self) -> TreeState | str:
        """Changed files under git, or a reason string if git can't say."""
        if self.reason is not None:
            return self.reason
        where, *found = _collect(self.started)
        if where[0] != 0:
            return "not a git repository"
        for returncode, _out, err in found:
            if returncode != 0:
                last = (err.strip().splitlines() or [f"exit {returncode}"])[-1]
                raise RuntimeError(f"git status failed: {last}")
        prefix = where[1].rstrip("\n")  # the workspace's folder inside the repository, or ""
        state = TreeState(prefix=prefix)
        inside = [f"{prefix}{p}" for p in self.inputs]
        allowed_paths: set[str] = set()
        for _returncode, out, _err in found[1:]:  # the inputs: every change, untracked included
            for code, path in _entries(out):
                if path.startswith(prefix) and path not in allowed_paths:
                    allowed_paths.add(path)
                    shown = path[len(prefix) :]
                    change = AllowedChange(shown, _change(code), _sha256(self.root / shown))
                    state.allowed.append(change)
        for _code, path in _entries(found[0][1]):
            if path not in allowed_paths and not _is_inside(path, inside):
                state.blocking.append(path)
        state.blocking.sort()
        state.allowed.sort(key=lambda change: change.path)
        return state


def _is_inside(path: str, tops: list[str]) -> bool:
    return any(path == top or path.startswith(f"{top}/") for top in tops)


def stage_inputs(root: Path, spec_dir: Path) -> list[Path]:
    """The plan stage's inputs whose changes are allowed: the SPEC's folder and the tracker."""
    return [spec_dir, root / TRACKER_FILE]


def _from_workspace(path: str, prefix: str) -> str:
    """A repo-relative path as the user sees it from the workspace (`../x` above it)."""
    import posixpath

    return posixpath.relpath(path, prefix.rstrip("/")) if prefix else path


def _listing(files: list[str], prefix: str = "") -> str:
    shown = ", ".join(_from_workspace(f, prefix) for f in files[:_SHOWN])
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


class PendingCheck:
    """A clean-tree check whose git calls are running; `finish()` gives the check."""

    def __init__(
        self, root: Path, excluded: Iterable[Path], allowed_by: str | None, inputs: Iterable[Path]
    ) -> None:
        self.timer = Timer(NAME)
        self.allowed_by = allowed_by
        self.query: TreeQuery | None = None
        self.error: str | None = None
        try:
            self.query = TreeQuery(root, excluded, inputs)
        except (OSError, subprocess.SubprocessError) as exc:
            self.error = str(exc)

    def finish(self) -> TreeCheck:
        timer, allowed_by = self.timer, self.allowed_by
        try:
            state = self.query.state() if self.query is not None else None
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self.error = str(exc)
            state = None
        if state is None:
            return TreeCheck(timer.result("failed", str(self.error)))
        if isinstance(state, str):
            return TreeCheck(timer.result("skipped", state))
        found, note = state.blocking, _inputs_note(state.allowed)
        if not found:
            reason = f"no modified or staged tracked files{note}"
            return TreeCheck(timer.result("passed", reason), [], state.allowed)
        if allowed_by:
            reason = f"dirty tree allowed by {allowed_by}: {_listing(found, state.prefix)}{note}"
            return TreeCheck(timer.result("passed", reason), found, state.allowed)
        reason = (
            f"{_listing(found, state.prefix)}; commit or stash them, "
            "or pass --allow-dirty (SPEC_OPS_ALLOW_DIRTY=1)"
        )
        return TreeCheck(timer.result("failed", reason), found, state.allowed)


def start_clean_tree(
    root: Path, excluded: Iterable[Path], allowed_by: str | None, inputs: Iterable[Path] = ()
) -> PendingCheck:
    """Start the check's git calls. `allowed_by` names what allows a dirty tree (the flag or
    the env var), or is None; `inputs` are the stage's input paths whose changes never block."""
    return PendingCheck(root, excluded, allowed_by, inputs)


def check_clean_tree(
    root: Path, excluded: Iterable[Path], allowed_by: str | None, inputs: Iterable[Path] = ()
) -> TreeCheck:
    """The whole check at once (see `start_clean_tree`)."""
    return start_clean_tree(root, excluded, allowed_by, inputs).finish()
