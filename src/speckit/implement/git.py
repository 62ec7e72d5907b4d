"""git for implement: one way to run it, and what the repository is.

`git()` runs git with an argument list, never through a shell, with the variables that would
point it at another repository dropped (a hook's environment has them: in a worktree that
would stage into the user's own index), in English, and turns a failure into one line.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Collection, Sequence
from pathlib import Path

from speckit.errors import SpeckitError

_GIT_TIMEOUT_S = 300.0
# Variables that would point git at another repository than the folder it runs in (a hook's
# environment has them): in a worktree that would stage into the user's own index.
_GIT_ENV_DROP = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


class GitError(SpeckitError):
    """A git command failed; the message is git's own reason, on one line."""


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROP}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = env["LANGUAGE"] = "C"  # git's messages are read in English
    return env


def git(
    args: Sequence[str],
    cwd: Path,
    *,
    stdin: str | bytes | None = None,
    env: dict[str, str] | None = None,
    ok: Collection[int] = (0,),
    timeout: float = _GIT_TIMEOUT_S,
) -> subprocess.CompletedProcess[bytes]:
    """Run `git ARGS` in `cwd`; GitError (one line, git's reason) for an exit not in `ok`."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=data,
            capture_output=True,
            env={**_git_env(), **(env or {})},
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH); implement needs it") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish in {timeout:.0f} s in {cwd}") from None
    except OSError as exc:
        raise GitError(f"git {args[0]} could not start in {cwd}: {exc.strerror}") from None
    if done.returncode not in ok:
        raise GitError(f"git {args[0]} failed: {_reason(done)}")
    return done


def git_text(args: Sequence[str], cwd: Path, **kwargs: object) -> str:
    """git's stdout as text (surrogate escapes keep odd bytes in file names round-trippable)."""
    done = git(args, cwd, **kwargs)  # type: ignore[arg-type]
    return done.stdout.decode("utf-8", "surrogateescape")


def _reason(done: subprocess.CompletedProcess[bytes]) -> str:
    text = (done.stderr or done.stdout).decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit {done.returncode}"


def git_toplevel(path: Path) -> Path:
    """The top folder of the git working tree holding `path`; a one-line SpeckitError when
    `path` is in no repository, or the repository has no commit yet (a worktree needs one)."""
    done = git(["rev-parse", "--show-toplevel", "--verify", "-q", "HEAD"], path, ok=(0, 1, 128))
    lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    if done.returncode == 128 or not lines:
        raise SpeckitError(
            f"{path} is not in a git repository; implement codes in git worktrees: "
            "run 'git init' and commit your project first"
        )
    if done.returncode != 0 or len(lines) < 2:
        raise SpeckitError(
            f"the git repository at {lines[0]} has no commit yet; implement branches from "
            "HEAD: commit your project first (git add -A && git commit -m 'start')"
        )
    return Path(lines[0])


def head_commit(repo: Path) -> str:
    """The full sha HEAD points at (detached or on a branch)."""
    done = git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], repo, ok=(0, 1, 128))
    if done.returncode != 0:
        raise SpeckitError(f"{repo} has no commit yet: commit your project first")
    return done.stdout.decode().strip()


@functools.lru_cache(maxsize=64)
def common_dir(repo: Path) -> Path:
    """The repository's shared git folder (`.git` of the main tree), asked once per repo."""
    text = git_text(["rev-parse", "--path-format=absolute", "--git-common-dir"], repo)
    return Path(text.strip())


def registered_worktrees(repo: Path) -> list[tuple[Path, str | None]]:
    """Every worktree git knows (path, branch or None), the main one included."""
    out = git_text(["worktree", "list", "--porcelain", "-z"], repo)
    found: list[tuple[Path, str | None]] = []
    path: Path | None = None
    branch: str | None = None
    for item in [*out.split("\0"), ""]:
        if not item:
            if path is not None:
                found.append((path, branch))
            path, branch = None, None
        elif item.startswith("worktree "):
            path = Path(item[len("worktree ") :])
        elif item.startswith("branch refs/heads/"):
            branch = item[len("branch refs/heads/") :]
    return found
