"""One git commit per stage run, holding exactly that stage's documents and evidence.

Off unless asked (`[pipeline].commit = true`, `--commit`): speckit stages and commits
nothing of its own accord. When asked, the commit holds the run's evidence files (its
bundle, raw outputs, guardrail record, log and reports, policy answers) and whatever
changed in the SPEC's documents (`docs/<SPEC>/`) and the tracker (`SPEC.md`), so that
`git log` reads as the pipeline's history. Nothing else goes in: the paths are handed
to `git commit --only`, which commits those paths and leaves every other staged change
of the user staged and out of the commit. Paths git ignores stay out.

A commit is a convenience on top of a finished run: the evidence is already written
and the verdict is already decided, so no git problem changes the stage's result.
No git, no repository, or a commit git refuses (a hook, a merge in progress, a
locked index) gives one line saying why; after a refusal the index is put back as it
was, so the run's files are not left staged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from speckit.evidence.naming import is_timestamp
from speckit.stages import command_name
from speckit.workspace import TRACKER_FILE

if TYPE_CHECKING:
    from speckit.pipeline.stage import StageRun
    from speckit.workspace import Workspace

FALLBACK_NAME = "speckit"
FALLBACK_EMAIL = "speckit@localhost"
_TIMEOUT_S = 60
_COMMIT_TIMEOUT_S = 600  # hooks (linters, test runs) may take minutes
_UNTRACKED = "??"


@dataclass(frozen=True)
class CommitOutcome:
    """What happened: `commit` is the new commit's short hash, None when nothing was
    committed; `note` is the one line shown with the run."""

    note: str
    commit: str | None = None
    paths: tuple[str, ...] = ()  # repository-relative paths in the commit
    failed: bool = False  # git refused or broke (a warning), not merely "nothing to do"


class _GitError(Exception):
    """A git call failed; the message is git's own last line."""


class _Git:
    def __init__(self, executable: str, cwd: Path) -> None:
        self.executable, self.cwd = executable, cwd

    def run(
        self,
        args: list[str],
        *,
        cwd: Path | None = None,
        stdin: str | None = None,
        timeout: float = _TIMEOUT_S,
    ) -> str:
        """git's stdout; raises _GitError with git's reason when it fails."""
        try:
            done = subprocess.run(
                [self.executable, *args],
                cwd=cwd or self.cwd,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise _GitError(f"git {args[0]} did not finish in {timeout:.0f} s") from None
        except OSError as exc:
            raise _GitError(f"git {args[0]} could not start: {exc}") from None
        if done.returncode != 0:
            raise _GitError(_reason(done.stderr or done.stdout, done.returncode))
        return done.stdout


def _reason(output: str, returncode: int) -> str:
    """git's reason in one line: its `error:`/`fatal:` line, else the last thing it said."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit {returncode}"


def _literal(paths: Iterable[str]) -> list[str]:
    return [f":(literal){path}" for path in paths]


def run_files(workspace: Workspace, run: StageRun) -> list[Path]:
    """The evidence files this run wrote: everything named with its run key in the
    consensus folder (answers, metrics, synthesis, telemetry, raw outputs, the arbiter's),
    the guardrail record with the artifacts it lists, and the policy agents' raw answers."""
    command = command_name(run.stage)
    files = sorted(run.bundle.folder.glob(f"{command}_{run.bundle.key}_*"))
    if run.guardrail is not None:
        record = run.guardrail.record
        files.append(run.guardrail.record_path)
        for artifact in record.get("artifacts") or []:
            if isinstance(artifact, dict) and isinstance(artifact.get("path"), str):
                files.append(workspace.root / artifact["path"])
        files.extend(_policy_files(run.guardrail.record_path.parent, command, run, record))
    return [path for path in files if path.is_file()]


def _policy_files(
    folder: Path, command: str, run: StageRun, record: dict[str, object]
) -> list[Path]:
    """The policy agents' raw answers: named by the second they were asked, which lies
    between the run's start and its guardrail record (the stage lock keeps other runs of
    this stage out of that window)."""
    end = str(record.get("timestamp") or run.timestamp)
    found = []
    for path in folder.glob(f"{command}_*_policy_*"):
        stamp = path.name[len(command) + 1 :].split("_", 1)[0]
        if is_timestamp(stamp) and run.timestamp <= stamp <= end:
            found.append(path)
    return sorted(found)


def commit_message(workspace: Workspace, run: StageRun, fallback_identity: bool) -> str:
    """Subject `speckit: <stage> <verdict> for <SPEC>`; the body says where the evidence is."""
    synthesis = run.synthesis

    def shown(path: Path) -> str:
        try:
            return path.relative_to(workspace.root).as_posix()
        except ValueError:
            return path.as_posix()

    body = [
        f"Synthesis: {shown(run.bundle.synthesis)}",
        f"Session: {run.session_id}",
        "Agents: " + ", ".join(f"{a.agent} {a.status}" for a in synthesis.agents),
        f"Prompt version: {run.prompt_version}",
    ]
    if synthesis.decision:
        body.append(f"Decision: {synthesis.decision}")
    if run.guardrail is not None:
        status = "passed" if run.guardrail.passed else "failed"
        body.append(f"Guardrail: {shown(run.guardrail.record_path)} ({status})")
    if fallback_identity:
        body.append(
            f"Committed as {FALLBACK_NAME} <{FALLBACK_EMAIL}>: "
            "no git user.name/user.email is configured."
        )
    subject = f"speckit: {run.stage} {run.status} for {run.spec_id}"
    return subject + "\n\n" + "\n".join(body) + "\n"


def _inside(root: Path, path: Path) -> str | None:
    """`path` relative to the workspace root (git's cwd), None if it lies outside."""
    for base, target in ((root.absolute(), path.absolute()), (root.resolve(), path.resolve())):
        if target.is_relative_to(base) and target != base:
            return target.relative_to(base).as_posix()
    return None


def _changed(git: _Git, workspace: Workspace, run: StageRun) -> list[str]:
    """Repository-relative paths of the stage's files that differ from HEAD (new, modified
    or deleted); files git ignores are not among them."""
    from speckit.specs.documents import spec_dir

    wanted = [spec_dir(workspace, run.spec_id), workspace.root / TRACKER_FILE]
    wanted.extend(run_files(workspace, run))
    relative = [shown for shown in (_inside(workspace.root, p) for p in wanted) if shown]
    status = ["status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all"]
    out = git.run([*status, "--", *_literal(dict.fromkeys(relative))])
    paths = [item[3:] for item in out.split("\0") if len(item) > 3]
    return sorted(dict.fromkeys(paths))


def _identity(git: _Git) -> list[str]:
    """`-c user.name=… -c user.email=…` for what is not configured (config or the
    environment variables git reads); empty when git has an identity."""
    try:
        out = git.run(["config", "-z", "--get-regexp", r"^user\.(name|email)$"])
    except _GitError:  # exit 1: neither is set
        out = ""
    keys = {item.split("\n", 1)[0].lower() for item in out.split("\0") if item}
    env = os.environ
    flags = []
    if "user.name" not in keys and not (
        env.get("GIT_AUTHOR_NAME") and env.get("GIT_COMMITTER_NAME")
    ):
        flags += ["-c", f"user.name={FALLBACK_NAME}"]
    has_email = env.get("EMAIL") or (env.get("GIT_AUTHOR_EMAIL") and env.get("GIT_COMMITTER_EMAIL"))
    if "user.email" not in keys and not has_email:
        flags += ["-c", f"user.email={FALLBACK_EMAIL}"]
    return flags


def _restore_index(git: _Git, top: Path, paths: list[str], entries: str) -> None:
    """Put the index entries of `paths` back as `git ls-files -s -z` listed them before."""
    listed = {item.split("\t", 1)[1] for item in entries.split("\0") if "\t" in item}
    absent = [path for path in paths if path not in listed]
    if absent:
        git.run(["rm", "--cached", "-q", "--ignore-unmatch", "--", *_literal(absent)], cwd=top)
    if entries:
        git.run(["update-index", "-z", "--index-info"], cwd=top, stdin=entries)


def commit_stage(workspace: Workspace, run: StageRun) -> CommitOutcome:
    """Commit the run's documents and evidence; never raises for a git problem."""
    executable = shutil.which("git")
    if executable is None:
        return CommitOutcome("not committed: git is not installed")
    git = _Git(executable, workspace.root)
    try:
        top = Path(git.run(["rev-parse", "--show-toplevel"]).rstrip("\n"))
    except _GitError:
        return CommitOutcome("not committed: the workspace is not in a git repository")
    try:
        paths = _changed(git, workspace, run)
        if not paths:
            return CommitOutcome("not committed: none of the stage's files changed")
        identity = _identity(git)
        message = commit_message(workspace, run, fallback_identity=bool(identity))
        before = git.run(["ls-files", "-s", "-z", "--", *_literal(paths)], cwd=top)
    except _GitError as exc:
        return CommitOutcome(f"not committed: {exc}", failed=True)
    try:
        # `add` first: `commit --only` takes only paths git already knows (new files too)
        git.run(["add", "--", *_literal(paths)], cwd=top)
        git.run(
            [*identity, "commit", "-q", "--only", "-F", "-", "--", *_literal(paths)],
            cwd=top,
            stdin=message,
            timeout=_COMMIT_TIMEOUT_S,
        )
    except _GitError as exc:
        try:
            _restore_index(git, top, paths, before)
        except _GitError as restore:
            return CommitOutcome(
                f"not committed: {exc} (and the index could not be restored: {restore})",
                failed=True,
            )
        return CommitOutcome(f"not committed: {exc}", failed=True)
    try:
        commit = git.run(["rev-parse", "--short", "HEAD"], cwd=top).strip()
    except _GitError:
        commit = "HEAD"
    subject = message.split("\n", 1)[0]
    return CommitOutcome(
        f'committed {commit} "{subject}" ({len(paths)} files)', commit, tuple(paths)
    )
