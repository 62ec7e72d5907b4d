"""A candidate: what one implementer left in its worktree, checked, committed and applied.

`capture` turns the worktree into a patch against the base with its counts and the reasons
it must never be applied (deleted tests, symlinks out of the repository, huge or binary
files, a half-done merge, rewritten history, paths escaping the repository). Those are
recorded, never raised: a bad candidate is evidence too. `commit_candidate` makes the
change one commit on the candidate's branch, and `apply_commit` fast-forwards the user's
branch to it, refusing when the branch moved or when local changes would be overwritten.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from speckit.errors import SpeckitError
from speckit.implement.git import common_dir, git, git_text, head_commit
from speckit.implement.worktrees import Worktree

FALLBACK_NAME = "speckit"
FALLBACK_EMAIL = "speckit@localhost"
_SYMLINK = "120000"
_GITLINK = "160000"
_RAW = re.compile(r"^:(\d{6}) (\d{6}) ([0-9a-f]+) ([0-9a-f]+) ([A-Z])(\d*)$")
_STATE_FILES = {
    "MERGE_HEAD": "a merge",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase (or git am)",
}
_TEST_DIRS = {"test", "tests", "spec", "specs", "__tests__", "testing"}
_TEST_NAME = re.compile(
    r"^(test_.*\.py|.*_test\.py|conftest\.py|.*_test\.go|.*\.(test|spec)\.[cm]?[jt]sx?"
    r"|.*_spec\.rb|.*Tests?\.(java|kt|cs)|.*_test\.(rs|exs?|dart|cc|cpp|c))$"
)
_COMMENT_ONLY = re.compile(r"^\s*(#|//|/\*|\*|--|$)")
_SHOWN = 5


def is_test_path(path: str) -> bool:
    """Whether a repository path is part of a test suite (a pragmatic list of conventions)."""
    parts = PurePosixPath(path).parts
    if any(part.lower() in _TEST_DIRS for part in parts[:-1]):
        return True
    return bool(parts) and bool(_TEST_NAME.match(parts[-1]))


def _still_a_test(old: str, new: str) -> bool:
    """A test file moved where the runner still finds it: a test path, same kind of file
    (`tests/test_a.py` → `tests/test_a.py.bak` disables it)."""
    return is_test_path(new) and PurePosixPath(old).suffix == PurePosixPath(new).suffix


@dataclass
class CandidateChange:
    """One implementer's change against the base, and why it must not be applied."""

    patch: str  # `git diff --binary <base>` of everything the agent left (new files too)
    files: list[str]  # repository-relative paths changed (added, modified, deleted, renamed)
    added: int  # lines
    removed: int
    problems: list[str] = field(default_factory=list)  # [] = fine; each one short sentence

    @property
    def empty(self) -> bool:
        return not self.files


@dataclass(frozen=True)
class _Entry:
    status: str  # A, M, D, R, C, T
    old_mode: str
    new_mode: str
    path: str  # the new path (the old one for D)
    old_path: str | None = None  # renames and copies


def _listing(paths: list[str], limit: int = _SHOWN) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _check_gitfile(wt: Worktree) -> str | None:
    """The worktree's `.git` must still be the file pointing at its own admin folder in the
    repository: an agent that rewrote it could point git at another repository."""
    gitfile = wt.path / ".git"
    try:
        if gitfile.is_symlink() or not gitfile.is_file():
            return "the worktree's .git file was replaced: git cannot be trusted in it"
        text = gitfile.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "the worktree's .git file cannot be read"
    admin = Path(text.removeprefix("gitdir:").strip())
    common = common_dir(wt.repo)
    if not text.startswith("gitdir:") or admin.resolve().parent != (common / "worktrees").resolve():
        return "the worktree's .git file points somewhere else: git cannot be trusted in it"
    return None


def _state(wt: Worktree) -> list[str]:
    """Problems of the worktree's git state: a merge/rebase left open, unmerged paths, a
    HEAD off its branch, history that no longer descends from the base."""
    problems = []
    out = git_text(["rev-parse", "--absolute-git-dir", "--symbolic-full-name", "HEAD"], wt.path)
    admin, _, ref = out.rstrip("\n").partition("\n")
    for name, what in _STATE_FILES.items():
        if (Path(admin) / name).exists():
            problems.append(f"the worktree is left in the middle of {what} ({name})")
    if ref != f"refs/heads/{wt.branch}":
        now = ref.removeprefix("refs/heads/") or "a detached HEAD"
        problems.append(f"the worktree left its branch {wt.branch} for {now}")
    ancestor = git(["merge-base", "--is-ancestor", wt.base, "HEAD"], wt.path, ok=(0, 1, 128))
    if ancestor.returncode != 0:
        problems.append(
            f"history rewritten: HEAD no longer descends from the base {wt.base[:12]} "
            "(a reset, rebase or amended commit)"
        )
    return problems


def _unmerged(wt: Worktree) -> list[str]:
    """Paths left with conflict stages in the index (read from the index alone: cheap)."""
    out = git_text(["ls-files", "--unmerged", "-z"], wt.path)
    paths = (item.split("\t", 1)[1] for item in out.split("\0") if "\t" in item)
    return list(dict.fromkeys(paths))


def _parse_raw_numstat(out: str) -> tuple[list[_Entry], dict[str, tuple[str, str]]]:
    """`git diff --raw --numstat -z -M` output: the entries and, per new path, (+, -)."""
    tokens = out.split("\0")
    entries: list[_Entry] = []
    counts: dict[str, tuple[str, str]] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        match = _RAW.match(token)
        if match:
            old_mode, new_mode, _a, _b, status, _score = match.groups()
            if status in "RC":
                entries.append(_Entry(status, old_mode, new_mode, tokens[i + 2], tokens[i + 1]))
                i += 3
            else:
                entries.append(_Entry(status, old_mode, new_mode, tokens[i + 1]))
                i += 2
            continue
        if not token:
            i += 1
            continue
        plus, minus, path = token.split("\t", 2)
        if path:
            counts[path] = (plus, minus)
            i += 1
        else:  # a rename: old and new path follow
            counts[tokens[i + 2]] = (plus, minus)
            i += 3
    return entries, counts


def _escapes(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return (
        not path
        or path.startswith("/")
        or ".." in parts
        or any(part.lower() == ".git" for part in parts)
    )


def _symlink_outside(wt: Worktree, path: str) -> str | None:
    """The link's target when it resolves outside the worktree, else None."""
    link = wt.path / path
    try:
        target = os.readlink(link)
    except OSError:
        return None
    if os.path.isabs(target):
        return target
    lexical = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if lexical == ".." or lexical.startswith("../"):
        return target
    top = wt.path.resolve()
    if not link.resolve().is_relative_to(top):
        return target
    return None


def _emptied(wt: Worktree, path: str) -> bool:
    """A test file left with nothing but blank lines and comments."""
    try:
        data = (wt.path / path).read_bytes()
    except OSError:
        return True
    text = data.decode("utf-8", "replace")
    return all(_COMMENT_ONLY.match(line) for line in text.splitlines())


def _conflict_markers(patch: str) -> list[str]:
    """Files whose added lines hold both ends of a conflict block."""
    found: list[str] = []
    current, opened = "", False
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            current, opened = line.rsplit(" b/", 1)[-1], False
        elif line.startswith("+<<<<<<< ") or line == "+<<<<<<<":
            opened = True
        elif (
            opened and (line.startswith("+>>>>>>> ") or line == "+>>>>>>>") and current not in found
        ):
            found.append(current)
    return found


_PROBLEMS = {
    "deleted_tests": "deletes test files of the base: ",
    "emptied_tests": "empties test files of the base: ",
    "links": "symlinks pointing outside the repository: ",
    "huge": "files over {limit} bytes (left out of the patch): ",
    "binary": "binary files: ",
    "gitlinks": "embedded git repositories (submodules): ",
    "escaping": "paths that escape the repository: ",
    "markers": "conflict markers left in: ",
}


def _judge(
    wt: Worktree, entry: _Entry, plus: str, max_file_bytes: int, found: dict[str, list[str]]
) -> None:
    """Add what is wrong with one changed path to `found` (keys of `_PROBLEMS`)."""
    if entry.status == "D":
        if is_test_path(entry.path):
            found["deleted_tests"].append(entry.path)
        return
    old = entry.old_path if entry.status == "R" else None
    if old and is_test_path(old) and not _still_a_test(old, entry.path):
        found["deleted_tests"].append(old)
    if entry.new_mode == _GITLINK:
        found["gitlinks"].append(entry.path)
    elif entry.new_mode == _SYMLINK:
        target = _symlink_outside(wt, entry.path)
        if target is not None:
            found["links"].append(f"{entry.path} -> {target}")
    elif not _escapes(entry.path):
        if plus == "-":
            found["binary"].append(entry.path)
        try:
            size = (wt.path / entry.path).lstat().st_size
        except OSError:
            size = 0
        if size > max_file_bytes:
            found["huge"].append(entry.path)
        if entry.status in "MT" and is_test_path(entry.path) and _emptied(wt, entry.path):
            found["emptied_tests"].append(entry.path)


def capture(wt: Worktree, *, max_file_bytes: int = 1_000_000) -> CandidateChange:
    """Stage everything the agent left (`git add -A`: ignored files stay out) and diff it
    against the base, recording every reason the change must never be applied. Files over
    `max_file_bytes` are left out of the patch (the problem names them)."""
    if not wt.path.is_dir():
        return CandidateChange("", [], 0, 0, [f"the worktree {wt.path} is gone"])
    broken = _check_gitfile(wt)
    if broken:
        return CandidateChange("", [], 0, 0, [broken])
    problems = _state(wt)
    unmerged = _unmerged(wt)
    if unmerged:
        problems.append(f"unmerged paths (a conflict left unresolved): {_listing(unmerged)}")
    git(["add", "-A", "--", "."], wt.path)
    diff = ["diff", "--cached", "--no-ext-diff", "--no-textconv", "--no-relative", "-M"]
    out = git_text([*diff, "--raw", "--numstat", "-z", "--no-abbrev", wt.base], wt.path)
    entries, counts = _parse_raw_numstat(out)

    files: list[str] = []
    found: dict[str, list[str]] = {key: [] for key in _PROBLEMS}
    added = removed = 0
    for entry in entries:
        paths = (
            [entry.path]
            if entry.old_path is None or entry.status == "C"
            else [
                entry.old_path,
                entry.path,
            ]
        )
        files.extend(paths)
        found["escaping"].extend(p for p in paths if _escapes(p))
        plus, minus = counts.get(entry.path, ("0", "0"))
        if plus.isdigit() and minus.isdigit():
            added, removed = added + int(plus), removed + int(minus)
        _judge(wt, entry, plus, max_file_bytes, found)

    leave_out = [f":(exclude,literal){path}" for path in found["huge"]]
    patch_args = [*diff, "--binary", "--no-color", "--src-prefix=a/", "--dst-prefix=b/"]
    patch = git_text([*patch_args, wt.base, "--", ".", *leave_out], wt.path) if files else ""
    found["markers"] = _conflict_markers(patch)
    for key, paths in found.items():
        if paths:
            problems.append(_PROBLEMS[key].format(limit=f"{max_file_bytes:,}") + _listing(paths))
    return CandidateChange(patch, sorted(dict.fromkeys(files)), added, removed, problems)


def _identity_env(cwd: Path) -> dict[str, str]:
    """Author/committer for what git has no identity for: the fallback speckit identity."""
    done = git(["config", "-z", "--get-regexp", r"^user\.(name|email)$"], cwd, ok=(0, 1))
    keys = {item.split("\n", 1)[0].lower() for item in done.stdout.decode().split("\0") if item}
    env: dict[str, str] = {}
    for role in ("AUTHOR", "COMMITTER"):
        if "user.name" not in keys and not os.environ.get(f"GIT_{role}_NAME"):
            env[f"GIT_{role}_NAME"] = FALLBACK_NAME
        if (
            "user.email" not in keys
            and not os.environ.get(f"GIT_{role}_EMAIL")
            and not os.environ.get("EMAIL")
        ):
            env[f"GIT_{role}_EMAIL"] = FALLBACK_EMAIL
    return env


def commit_candidate(wt: Worktree, message: str) -> str:
    """One commit on `wt.branch`, parent the base, holding the change as `capture` staged it
    (files the test run wrote later stay out); returns its sha. No hook runs: the tests
    already judged the change."""
    tree = git_text(["write-tree"], wt.path).strip()
    base_tree = git_text(["rev-parse", f"{wt.base}^{{tree}}"], wt.path).strip()
    if tree == base_tree:
        raise SpeckitError(f"{wt.agent}'s candidate changes nothing: there is nothing to commit")
    env = _identity_env(wt.path)
    text = message if message.endswith("\n") else message + "\n"
    sha = git_text(["commit-tree", tree, "-p", wt.base, "-F", "-"], wt.path, stdin=text, env=env)
    sha = sha.strip()
    git(["update-ref", "-m", "speckit: candidate", f"refs/heads/{wt.branch}", sha], wt.path)
    return sha


def _branch_of(repo: Path, sha: str) -> str:
    out = git_text(
        ["for-each-ref", "--format=%(refname:strip=2)", "--points-at", sha, "refs/heads/speckit/"],
        repo,
    )
    names = out.split()
    return names[0] if names else sha


def apply_commit(repo: Path, sha: str, expected_head: str) -> None:
    """Fast-forward the main tree's current branch to the candidate's commit `sha`.

    Refused (one-line SpeckitError, nothing changed) when HEAD is no longer `expected_head`
    or when git would overwrite local changes; the message says how to merge by hand.
    """
    branch = _branch_of(repo, sha)
    head = head_commit(repo)
    if head != expected_head:
        raise SpeckitError(
            f"the branch moved since implement started (HEAD is now {head[:12]}, was "
            f"{expected_head[:12]}): not applied; merge it yourself: git merge {branch}"
        )
    done = git(["merge", "--ff-only", "--no-edit", "-q", sha], repo, ok=range(256))
    text = (done.stderr + done.stdout).decode("utf-8", "replace")
    if done.returncode == 0:
        return
    if "would be overwritten" in text or "untracked working tree files" in text:
        clashing = [line.strip() for line in text.splitlines() if line.startswith("\t")]
        raise SpeckitError(
            f"local changes in the main tree would be overwritten ({_listing(clashing)}): "
            f"not applied; commit or stash them, then: git merge {branch}"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = next((line for line in lines if line.startswith(("fatal:", "error:"))), "")
    raise SpeckitError(
        f"git did not apply the candidate ({reason or (lines[-1] if lines else 'no reason')}): "
        f"merge it yourself: git merge {branch}"
    )
