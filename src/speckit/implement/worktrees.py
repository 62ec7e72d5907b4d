"""Git worktrees for implement's candidates: made, listed, removed and pruned.

Each implementer codes in its own worktree `<root>/.speckit/worktrees/<SPEC>/<run>/<agent>`
on branch `speckit/<SPEC>/<agent>-<run>`, so agents never touch the user's working tree
nor each other's. The run folder holds `.owner.json`: the process that made the run
(pid and its start time, so a reused pid is not taken for the owner), the base commit, and,
once the run is over, when it finished and which branches it kept on purpose. That file is
what lets a later run (or `speckit worktrees prune`) tell a live run from one whose owner
was killed with SIGKILL.

Pruning rules (documented in `speckit worktrees prune --help` too):
- a run whose owner is alive and that has not finished is never touched;
- a *stale* run (owner gone without finishing) loses its worktrees and branches: what the
  agents did is in the evidence (their patches), and nothing of it was applied;
- with `everything`, *finished* runs lose theirs too, except a branch the run kept on purpose
  (`[implement] apply = "branch"`) that holds commits merged nowhere: speckit never deletes
  work it handed to the user; `git branch -D` does, once the user decides.

git itself is run by `implement.git`; the proof that the main working tree was left alone
is `implement.snapshot`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from speckit.errors import SpeckitError
from speckit.implement.git import (
    GitError,
    common_dir,
    git,
    git_text,
    registered_worktrees,
)

WORKTREES = ".speckit/worktrees"  # under the workspace root
OWNER_FILE = ".owner.json"  # in a run folder; agent names cannot start with "."
BRANCH_PREFIX = "speckit/"
BASE_AGENT = "base"  # the worktree that runs the tests on the untouched base
_YOUNG_S = 60.0  # a run folder without owner file younger than this is being made: left alone
_STAMP_KEY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z((?:-\d+)?)$")
_SAFE_RUN = re.compile(r"\d{8}T\d{6}Z(?:-\d+)?$")
_AGENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


# --- names ---------------------------------------------------------------------------------


def ref_safe(run_key: str) -> str:
    """A run key usable in branch names and paths: `2026-11-29T18:30:00Z-2` gives
    `20261129T183000Z-2` (colons are not allowed in refs, and `-` is kept for the sequence).
    Any other key keeps only letters, digits, `_`, `-`, `.`, without `..`, a leading `.`/`-`
    or a `.lock` end; an already safe key comes back unchanged."""
    match = _STAMP_KEY.match(run_key)
    if match:
        y, mo, d, h, mi, s, seq = match.groups()
        return f"{y}{mo}{d}T{h}{mi}{s}Z{seq}"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", run_key)
    safe = re.sub(r"\.{2,}", ".", safe).strip(".-")
    while safe.endswith(".lock"):
        safe = safe.removesuffix(".lock").rstrip(".-")
    if not safe:
        raise SpeckitError(f"run key {run_key!r} has nothing usable in a branch name")
    return safe


def _check_agent(agent: str) -> str:
    if not _AGENT.match(agent) or ".." in agent or agent.endswith((".", ".lock")):
        raise SpeckitError(
            f"agent name {agent!r} cannot name a git branch: use letters, digits, '_', '-', '.' "
            "(no '..', no '.' or '.lock' at the end)"
        )
    return agent


def branch_name(spec_id: str, run_key: str, agent: str) -> str:
    """`speckit/<SPEC>/<agent>-<run>` (the run key made ref-safe)."""
    from speckit.specs.ids import check_spec_id

    return f"{BRANCH_PREFIX}{check_spec_id(spec_id)}/{_check_agent(agent)}-{ref_safe(run_key)}"


def worktrees_dir(root: Path) -> Path:
    return root / WORKTREES


def run_dir(root: Path, spec_id: str, run_key: str) -> Path:
    """`<root>/.speckit/worktrees/<SPEC>/<run>`; the SPEC id is checked, so it stays inside."""
    from speckit.specs.ids import check_spec_id

    return worktrees_dir(root) / check_spec_id(spec_id) / ref_safe(run_key)


# --- owners --------------------------------------------------------------------------------


def _process_start(pid: int) -> str | None:
    """Start time of `pid` in clock ticks since boot (Linux /proc), or None if unknown."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = data[data.rfind(")") + 2 :].split()
    if fields and fields[0] == "Z":
        return "zombie"  # dead, only not reaped yet: no owner
    return fields[19] if len(fields) > 19 else None


def owner_alive(owner: dict[str, object]) -> bool:
    """Whether the process named in an owner file still runs (another host's: assumed so)."""
    if owner.get("hostname") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, someone else's
    started = _process_start(pid)
    if started == "zombie":
        return False
    recorded = owner.get("pid_start")
    return not (recorded and started and started != recorded)  # a reused pid: not the owner


def read_owner(folder: Path) -> dict[str, object] | None:
    """A run folder's owner record, None if absent or unreadable."""
    try:
        data = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_new(path: Path, data: dict[str, object]) -> bool:
    """Write `path` whole, only if absent (a link of a complete temp file: no reader ever
    sees half a record); False when it already existed."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
    return True


def _rewrite(path: Path, data: dict[str, object]) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _prepare(root: Path, folder: Path) -> None:
    """Make `folder` under root/.speckit/worktrees (no symlink on the way), and the
    `.gitignore` there that keeps worktrees out of the main tree's `git status` even when
    the repository does not ignore `.speckit/`."""
    from speckit.fsutil import make_folder

    top = worktrees_dir(root)
    make_folder(root, top)
    ignore = top / ".gitignore"
    if not ignore.exists():
        with contextlib.suppress(FileExistsError), ignore.open("x", encoding="utf-8") as handle:
            handle.write("# speckit's candidate worktrees: never part of the project\n*\n")
    make_folder(root, folder)


# --- worktrees -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Worktree:
    """One candidate's (or the base's) worktree."""

    repo: Path  # git toplevel of the user's main working tree
    path: Path  # <root>/.speckit/worktrees/<SPEC>/<run>/<agent>
    branch: str  # speckit/<SPEC>/<agent>-<run>
    base: str  # full sha of the commit it was made from
    spec_id: str
    run_key: str  # ref_safe form
    agent: str  # "base" for the worktree that runs the tests on the untouched base


def create_worktree(
    repo: Path, root: Path, spec_id: str, run_key: str, agent: str, base: str
) -> Worktree:
    """`git worktree add -b <branch> <path> <base>`, after recording this process as the
    run's owner (first caller of a run writes it; safe from several threads at once)."""
    branch = branch_name(spec_id, run_key, agent)
    folder = run_dir(root, spec_id, run_key)
    path = folder / agent
    _prepare(root, folder)
    pid = os.getpid()
    owner: dict[str, object] = {
        "pid": pid,
        "pid_start": _process_start(pid),
        "hostname": socket.gethostname(),
        "created": _utc_now(),
        "repo": str(repo),
        "base": base,
        "spec_id": spec_id,
        "run_key": ref_safe(run_key),
        "finished": None,
        "kept": [],
    }
    _write_new(folder / OWNER_FILE, owner)
    try:
        with repo_lock(repo):  # registering reads every other worktree's record
            git(["worktree", "add", "-q", "--no-checkout", "-b", branch, str(path), base], repo)
        # the checkout itself (what `worktree add` runs) needs no lock: several go at once
        git(["reset", "--hard", "-q", "--no-recurse-submodules"], path)
    except GitError as exc:
        hint = ""
        if "already exists" in exc.message:
            hint = "; remove leftovers with: speckit worktrees prune"
        raise SpeckitError(f"could not make the worktree of {agent}: {exc.message}{hint}") from None
    return Worktree(repo, path, branch, base, spec_id, ref_safe(run_key), agent)


_THREADS = threading.Lock()


@contextlib.contextmanager
def repo_lock(repo: Path) -> Iterator[None]:
    """Serialise changes to a repository's worktree records, between threads and processes:
    `git worktree add` run twice at once can read the other's half-made record and fail."""
    with _THREADS:
        lock = common_dir(repo) / "speckit-worktrees.lock"
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock


def _worktree_prune(repo: Path) -> None:
    with repo_lock(repo):
        git(["worktree", "prune"], repo)


def _remove_tree(repo: Path, path: Path) -> None:
    """Remove a worktree folder and git's record of it; an already-gone one is fine."""
    with repo_lock(repo):
        done = git(["worktree", "remove", "--force", "--force", str(path)], repo, ok=(0, 128))
        if done.returncode != 0 and path.exists():
            _rmtree(path)  # not a registered worktree (any more): just a folder
            git(["worktree", "prune"], repo)


def _rmtree(path: Path) -> None:
    """`shutil.rmtree` that also gets through folders an agent made read-only."""

    def retry(function: Callable[[str], object], name: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            function(name)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)


def remove_worktree(wt: Worktree, *, delete_branch: bool = True) -> None:
    """Remove the worktree (forced: the candidate is in the evidence already) and, unless
    told otherwise, its branch; what is already gone is skipped."""
    _remove_tree(wt.repo, wt.path)
    if delete_branch:
        _delete_branches(wt.repo, [wt.branch])


def _speckit_branches(repo: Path) -> dict[str, str]:
    """speckit's branches: name → tip sha."""
    out = git_text(
        ["for-each-ref", "--format=%(refname:strip=2)%00%(objectname)", "refs/heads/speckit/"],
        repo,
    )
    result = {}
    for line in out.splitlines():
        name, _, sha = line.partition("\0")
        result[name] = sha
    return result


def remove_run(
    repo: Path,
    root: Path,
    spec_id: str,
    run_key: str,
    *,
    keep_branches: Collection[str] = (),
) -> int:
    """Remove every worktree of a run and its branches but `keep_branches`; returns how many
    worktrees were removed. With branches kept, the owner file stays, marked finished and
    naming them (so `prune` keeps them while unmerged); else the run folder goes too."""
    folder = run_dir(root, spec_id, run_key)
    removed = _remove_worktrees(repo, folder)
    suffix = f"-{ref_safe(run_key)}"
    prefix = f"{BRANCH_PREFIX}{spec_id}/"
    doomed = [
        name
        for name in _speckit_branches(repo)
        if name.startswith(prefix) and name.endswith(suffix) and name not in keep_branches
    ]
    _delete_branches(repo, doomed)
    kept = [name for name in keep_branches if name]
    owner = read_owner(folder)
    if kept and folder.is_dir():
        record = dict(owner or {"spec_id": spec_id, "run_key": ref_safe(run_key)})
        record.update(finished=_utc_now(), kept=sorted(kept))
        _rewrite(folder / OWNER_FILE, record)
    else:
        _drop_folder(root, folder)
    return removed


def finish_run(root: Path, spec_id: str, run_key: str, *, kept: Collection[str] = ()) -> None:
    """Mark a run finished (its worktrees left for a person to look at): `list` shows it as
    finished, `prune` leaves it alone unless `--all`."""
    folder = run_dir(root, spec_id, run_key)
    owner = read_owner(folder)
    if owner is None:
        return
    owner.update(finished=_utc_now(), kept=sorted(set(kept)))
    _rewrite(folder / OWNER_FILE, owner)


def _remove_worktrees(repo: Path, folder: Path) -> int:
    removed = 0
    resolved = folder.resolve()
    for path, _branch in registered_worktrees(repo):
        if path.resolve().parent == resolved:
            _remove_tree(repo, path)
            removed += 1
    if folder.is_dir():  # leftovers git does not know (an add cut short)
        for child in folder.iterdir():
            if child.name != OWNER_FILE and not child.name.startswith(".owner"):
                if child.is_dir() and not child.is_symlink():
                    _rmtree(child)
                else:
                    child.unlink()
                removed += 1
        _worktree_prune(repo)
    return removed


def _delete_branches(repo: Path, names: Iterable[str]) -> None:
    names = list(names)
    for start in range(0, len(names), 200):  # `branch -D` reads the worktree records too
        with repo_lock(repo):
            git(["branch", "-D", "-q", *names[start : start + 200]], repo, ok=(0, 1))


def _drop_folder(root: Path, folder: Path) -> None:
    """Remove a run folder (its owner file and any temp file) and an emptied SPEC folder."""
    from speckit.fsutil import check_inside

    if not folder.is_dir():
        return
    check_inside(root, folder)
    _rmtree(folder)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()  # only when empty


# --- listing and pruning -------------------------------------------------------------------


@dataclass(frozen=True)
class WorktreeInfo:
    """One of speckit's worktrees, or a branch of speckit's left without one."""

    spec_id: str
    run_key: str
    agent: str
    path: Path | None  # None: a branch only
    branch: str | None  # None: a worktree whose branch is gone (or detached)
    created: str | None  # when the run made its first worktree (UTC), if known
    owner_alive: bool  # the run's owner process still runs and the run is not finished
    applied: bool  # the branch's own commits are merged into a branch of the user (or HEAD)
    finished: bool = False  # the run ended and said so
    kept: bool = False  # the run kept this branch on purpose (apply = "branch")
    merged: bool = False  # nothing on the branch is missing from the user's branches

    @property
    def state(self) -> str:
        """running, applied, finished or stale."""
        if self.owner_alive:
            return "running"
        if self.applied:
            return "applied"
        return "finished" if self.finished else "stale"

    def as_dict(self, root: Path | None = None) -> dict[str, object]:
        path: str | None = None
        if self.path is not None:
            path = str(self.path)
            if root is not None:
                with contextlib.suppress(ValueError):
                    path = self.path.relative_to(root).as_posix()
        return {
            "spec_id": self.spec_id,
            "run": self.run_key,
            "agent": self.agent,
            "branch": self.branch,
            "state": self.state,
            "path": path,
            "created": self.created,
            "kept": self.kept,
        }


@dataclass
class _Run:
    spec_id: str
    run_key: str
    folder: Path
    owner: dict[str, object] | None
    trees: dict[str, tuple[Path, str | None]] = field(default_factory=dict)  # agent → path, br
    branches: dict[str, str] = field(default_factory=dict)  # agent → branch

    @property
    def finished(self) -> bool:
        return bool(self.owner and self.owner.get("finished"))

    @property
    def alive(self) -> bool:
        if self.finished:
            return False
        if self.owner is None:  # being made right now, or lost
            return _young(self.folder)
        return owner_alive(self.owner)


def _young(folder: Path) -> bool:
    try:
        return time.time() - folder.stat().st_mtime < _YOUNG_S
    except OSError:
        return False


def _runs(repo: Path, root: Path) -> dict[tuple[str, str], _Run]:
    top = worktrees_dir(root)
    runs: dict[tuple[str, str], _Run] = {}

    def run(spec_id: str, key: str) -> _Run:
        if (spec_id, key) not in runs:
            folder = top / spec_id / key
            runs[spec_id, key] = _Run(spec_id, key, folder, read_owner(folder))
        return runs[spec_id, key]

    if top.is_dir():
        for spec in sorted(p for p in top.iterdir() if p.is_dir() and not p.is_symlink()):
            for folder in sorted(p for p in spec.iterdir() if p.is_dir() and not p.is_symlink()):
                entry = run(spec.name, folder.name)
                for child in folder.iterdir():
                    if child.is_dir() and not child.name.startswith("."):
                        entry.trees[child.name] = (child, None)
    base = top.resolve()
    for path, branch in registered_worktrees(repo):
        try:
            parts = path.resolve().relative_to(base).parts
        except ValueError:
            continue
        if len(parts) == 3:
            run(parts[0], parts[1]).trees[parts[2]] = (path, branch)
    branches = _speckit_branches(repo)
    for name in branches:
        spec_id, _, rest = name.removeprefix(BRANCH_PREFIX).partition("/")
        known = [key for (s, key) in runs if s == spec_id and rest.endswith(f"-{key}")]
        if known:
            key = max(known, key=len)
        else:
            match = _SAFE_RUN.search(rest)
            key = match.group(0) if match and match.start() > 1 else "?"
        agent = rest[: -len(key) - 1] if key != "?" else rest
        run(spec_id, key).branches[agent] = name
    return runs


def list_worktrees(repo: Path, root: Path) -> list[WorktreeInfo]:
    """speckit's worktrees and `speckit/*` branches, by SPEC, run and agent."""
    return [info for _run, info in _infos(repo, root)]


def _infos(repo: Path, root: Path) -> list[tuple[_Run, WorktreeInfo]]:
    runs = _runs(repo, root)
    branches = _speckit_branches(repo)
    merged = _merged(repo, list(branches))
    result = []
    for key in sorted(runs):
        run = runs[key]
        alive = run.alive
        base = str(run.owner.get("base")) if run.owner and run.owner.get("base") else None
        kept = set(run.owner.get("kept") or []) if run.owner else set()  # type: ignore[call-overload]
        created = str(run.owner["created"]) if run.owner and run.owner.get("created") else None
        for agent in sorted(set(run.trees) | set(run.branches)):
            path, branch = run.trees.get(agent, (None, None))
            branch = branch or run.branches.get(agent)
            is_merged = branch is not None and branch in merged
            # without the base (owner file lost) a merged branch may hold nothing of its own
            applied = is_merged and base is not None and branches.get(str(branch)) != base
            info = WorktreeInfo(
                spec_id=run.spec_id,
                run_key=run.run_key,
                agent=agent,
                path=path,
                branch=branch,
                created=created,
                owner_alive=alive,
                applied=applied,
                finished=run.finished,
                kept=branch in kept,
                merged=is_merged,
            )
            result.append((run, info))
    return result


def _merged(repo: Path, names: list[str]) -> set[str]:
    """speckit branches whose tip is reachable from HEAD or from a branch not speckit's."""
    if not names:
        return set()
    heads = git_text(["for-each-ref", "--format=%(refname)", "refs/heads/"], repo).split()
    targets = [ref for ref in heads if not ref.startswith("refs/heads/speckit/")]
    if git(["rev-parse", "--verify", "-q", "HEAD"], repo, ok=(0, 1, 128)).returncode == 0:
        targets.append("HEAD")
    if not targets:
        return set()
    args = ["for-each-ref", "--format=%(refname:strip=2)"]
    for target in targets:
        args += ["--merged", target]
    return set(git_text([*args, "refs/heads/speckit/"], repo).split("\n")) - {""}


def prune_stale(
    repo: Path, root: Path, *, everything: bool = False, dry_run: bool = False
) -> list[WorktreeInfo]:
    """Remove the worktrees and branches of stale runs (owner gone, never finished); with
    `everything`, of finished runs too, but never a kept branch holding unmerged work. A live
    run is never touched. Returns what was (with `dry_run`: would be) removed; ends with
    `git worktree prune`."""
    removed: list[WorktreeInfo] = []
    by_run: dict[tuple[str, str], list[WorktreeInfo]] = {}
    runs: dict[tuple[str, str], _Run] = {}
    for run, info in _infos(repo, root):
        by_run.setdefault((run.spec_id, run.run_key), []).append(info)
        runs[run.spec_id, run.run_key] = run
    top = worktrees_dir(root)
    if top.is_dir():  # run folders left with nothing in them (an owner file only)
        for spec in (p for p in top.iterdir() if p.is_dir() and not p.is_symlink()):
            for folder in (p for p in spec.iterdir() if p.is_dir() and not p.is_symlink()):
                if (spec.name, folder.name) not in runs:
                    runs[spec.name, folder.name] = _Run(
                        spec.name, folder.name, folder, read_owner(folder)
                    )
                    by_run[spec.name, folder.name] = []
    for key, infos in by_run.items():
        run = runs[key]
        if run.alive or (run.finished and not everything):
            continue
        keep = [i for i in infos if i.kept and not i.merged and i.branch]
        doomed = [i for i in infos if i not in keep]
        removed.extend(doomed)
        if dry_run:
            continue
        for info in doomed:
            if info.path is not None:
                _remove_tree(repo, info.path)
        _delete_branches(repo, [i.branch for i in doomed if i.branch])
        if keep:
            continue
        if run.folder.is_dir() and run.folder.resolve().is_relative_to(top.resolve()):
            _drop_folder(root, run.folder)
    if not dry_run:
        _worktree_prune(repo)
    return removed
