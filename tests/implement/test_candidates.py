"""Candidates in real git worktrees: the patch and its counts, every reason a change must
never be applied, one commit on the candidate's branch, and the fast-forward onto the
user's branch (refused when the branch moved or local changes would be overwritten)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from speckit.errors import SpeckitError
from speckit.implement.candidates import apply_commit, capture, commit_candidate, is_test_path
from speckit.implement.git import head_commit
from speckit.implement.worktrees import Worktree, create_worktree

SPEC = "SPEC-KIT-014-implement"
RUN = "2026-11-29T18:30:00Z"
FIXED = "def add(a, b):\n    return a + b\n"


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small Python project with a failing test, one commit, its own git identity."""
    path = tmp_path / "my project"
    (path / "pkg").mkdir(parents=True)
    (path / "pkg" / "__init__.py").write_text("")
    (path / "pkg" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (path / "pkg" / "old.py").write_text("OLD = 1\n")
    (path / "tests").mkdir()
    (path / "tests" / "test_calc.py").write_text(
        "from pkg.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Tess Tester")
    git(path, "config", "user.email", "tess@example.org")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "start")
    return path


@pytest.fixture
def wt(repo: Path) -> Worktree:
    return create_worktree(repo, repo, SPEC, RUN, "claude", head_commit(repo))


def test_capture_added_modified_deleted_and_renamed_files(wt: Worktree) -> None:
    (wt.path / "pkg" / "calc.py").write_text(FIXED)  # 1 line out, 1 in
    (wt.path / "pkg" / "old.py").unlink()  # 1 out
    (wt.path / "pkg" / "new.py").write_text("A = 1\nB = 2\n")  # 2 in, untracked
    (wt.path / "README.md").write_text("# pkg\n")  # 1 in
    (wt.path / ".gitignore").write_text("*.log\n")  # 1 in
    (wt.path / "debug.log").write_text("ignored by the agent's .gitignore\n")

    change = capture(wt)
    assert change.problems == []
    assert not change.empty
    assert change.files == [".gitignore", "README.md", "pkg/calc.py", "pkg/new.py", "pkg/old.py"]
    assert (change.added, change.removed) == (5, 2)
    assert "+    return a + b" in change.patch and "debug.log" not in change.patch
    assert "new file mode" in change.patch and "deleted file mode" in change.patch


def test_the_patch_applies_to_the_base(repo: Path, wt: Worktree, tmp_path: Path) -> None:
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    (wt.path / "name with space.txt").write_text("x\n")
    change = capture(wt)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    done = subprocess.run(
        ["git", "apply", "--index", "-"], cwd=clone, input=change.patch, text=True, check=False
    )
    assert done.returncode == 0
    assert (clone / "pkg" / "calc.py").read_text() == FIXED
    assert (clone / "name with space.txt").is_file()


def test_an_agent_that_changed_nothing_is_empty(wt: Worktree) -> None:
    change = capture(wt)
    assert change.empty and change.patch == "" and (change.added, change.removed) == (0, 0)
    with pytest.raises(SpeckitError, match="changes nothing"):
        commit_candidate(wt, "nothing")


def test_an_agent_commit_on_its_branch_is_part_of_the_change(wt: Worktree) -> None:
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    git(wt.path, "commit", "-q", "-am", "agent's own commit")
    (wt.path / "pkg" / "more.py").write_text("M = 1\n")
    change = capture(wt)
    assert change.problems == []
    assert change.files == ["pkg/calc.py", "pkg/more.py"]


def test_binary_and_huge_files_are_problems(wt: Worktree) -> None:
    (wt.path / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (wt.path / "big.txt").write_text("x" * 2000 + "\n")
    change = capture(wt, max_file_bytes=1500)
    assert "binary files: blob.bin" in change.problems
    assert "files over 1,500 bytes (left out of the patch): big.txt" in change.problems
    assert "big.txt" in change.files and "xxxxxxxx" not in change.patch
    assert "GIT binary patch" in change.patch


@pytest.mark.parametrize("target", ["/etc/passwd", "../../..", "../../../outside"])
def test_a_symlink_out_of_the_repository_is_a_problem(wt: Worktree, target: str) -> None:
    (wt.path / "pkg" / "link").symlink_to(target)
    (wt.path / "inside").symlink_to("pkg/calc.py")  # inside: fine
    change = capture(wt)
    assert change.problems == [f"symlinks pointing outside the repository: pkg/link -> {target}"]


def test_deleting_or_emptying_the_test_suite_is_a_problem(repo: Path, wt: Worktree) -> None:
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    (wt.path / "tests" / "test_calc.py").unlink()
    assert capture(wt).problems == ["deletes test files of the base: tests/test_calc.py"]

    other = create_worktree(repo, repo, SPEC, RUN, "gemini", head_commit(repo))
    (other.path / "tests" / "test_calc.py").write_text("# nothing to see\n\n")
    assert capture(other).problems == ["empties test files of the base: tests/test_calc.py"]

    third = create_worktree(repo, repo, SPEC, RUN, "codex", head_commit(repo))
    git(third.path, "mv", "tests/test_calc.py", "tests/test_calc.py.off")
    assert capture(third).problems == ["deletes test files of the base: tests/test_calc.py"]

    fourth = create_worktree(repo, repo, SPEC, RUN, "kept", head_commit(repo))
    git(fourth.path, "mv", "tests/test_calc.py", "tests/test_calc_moved.py")
    assert capture(fourth).problems == []  # moved, still collected


def test_test_paths_follow_the_usual_conventions() -> None:
    tests = ["tests/x.py", "test_a.py", "a/b_test.py", "x_test.go", "a.test.ts", "s/x.spec.js"]
    tests += ["spec/models/user_spec.rb", "conftest.py", "src/FooTest.java"]
    assert all(is_test_path(path) for path in tests)
    assert not any(is_test_path(p) for p in ["pkg/calc.py", "contest.py", "latest.py"])


def test_a_worktree_left_mid_merge_is_a_problem(repo: Path, wt: Worktree) -> None:
    git(wt.path, "checkout", "-q", "-b", "side")
    (wt.path / "pkg" / "calc.py").write_text("def add(a, b):\n    return b + a\n")
    git(wt.path, "commit", "-q", "-am", "side")
    git(wt.path, "checkout", "-q", wt.branch)
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    git(wt.path, "commit", "-q", "-am", "mine")
    git(wt.path, "merge", "-q", "side", check=False)  # conflicts: MERGE_HEAD, unmerged path

    problems = capture(wt).problems
    assert "the worktree is left in the middle of a merge (MERGE_HEAD)" in problems
    assert "unmerged paths (a conflict left unresolved): pkg/calc.py" in problems
    assert "conflict markers left in: pkg/calc.py" in problems


def test_rewritten_history_is_a_problem(repo: Path) -> None:
    (repo / "pkg" / "calc.py").write_text("def add(a, b):\n    return a * b\n")
    git(repo, "commit", "-q", "-am", "second")
    wt = create_worktree(repo, repo, SPEC, RUN, "claude", head_commit(repo))
    git(wt.path, "reset", "-q", "--hard", "HEAD~1")
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    change = capture(wt)
    assert change.problems == [
        f"history rewritten: HEAD no longer descends from the base {wt.base[:12]} "
        "(a reset, rebase or amended commit)"
    ]


def test_a_tampered_git_file_is_a_problem_and_git_is_not_run_there(
    repo: Path, wt: Worktree
) -> None:
    (wt.path / ".git").write_text(f"gitdir: {repo / '.git'}\n")  # the user's own repository
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    change = capture(wt)
    assert change.problems == [
        "the worktree's .git file points somewhere else: git cannot be trusted in it"
    ]
    assert git(repo, "status", "--porcelain") == ""  # nothing staged in the user's index


def test_commit_then_apply_puts_one_commit_on_the_branch(repo: Path, wt: Worktree) -> None:
    base = head_commit(repo)
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    capture(wt)
    (wt.path / "pkg" / "__pycache__").mkdir()  # the test run writes after the capture
    (wt.path / "pkg" / "__pycache__" / "calc.pyc").write_bytes(b"\0")
    sha = commit_candidate(wt, f"{SPEC}: implement by claude\n\nSpeckit-Run: {RUN}")

    assert git(wt.path, "rev-parse", wt.branch).strip() == sha
    assert git(repo, "rev-parse", f"{sha}^").strip() == base
    assert git(repo, "show", "--name-only", "--format=", sha).split() == ["pkg/calc.py"]
    assert git(repo, "log", "-1", "--format=%an <%ae>", sha).strip() == (
        "Tess Tester <tess@example.org>"
    )

    apply_commit(repo, sha, base)
    assert head_commit(repo) == sha
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert (repo / "pkg" / "calc.py").read_text() == FIXED
    assert git(repo, "rev-list", "--count", f"{base}..HEAD").strip() == "1"
    assert "Speckit-Run: " + RUN in git(repo, "log", "-1", "--format=%B")
    assert git(repo, "status", "--porcelain") == ""


def test_without_a_git_identity_the_commit_is_speckits(repo: Path, wt: Worktree) -> None:
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    capture(wt)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k != "EMAIL"} | {
        "HOME": str(repo.parent),
        "XDG_CONFIG_HOME": str(repo.parent),
        "EMAIL": "",
    }
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        sha = commit_candidate(wt, "by speckit")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn", sha).strip() == (
        "speckit <speckit@localhost>|speckit"
    )


def test_apply_refuses_when_the_branch_moved(repo: Path, wt: Worktree) -> None:
    base = head_commit(repo)
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    capture(wt)
    sha = commit_candidate(wt, "fix")
    (repo / "NOTES.md").write_text("meanwhile\n")
    git(repo, "add", "NOTES.md")
    git(repo, "commit", "-q", "-m", "meanwhile")
    moved = head_commit(repo)

    with pytest.raises(SpeckitError) as error:
        apply_commit(repo, sha, base)
    message = error.value.message
    assert message.startswith("the branch moved since implement started")
    assert message.endswith(f"not applied; merge it yourself: git merge {wt.branch}")
    assert "\n" not in message
    assert head_commit(repo) == moved


def test_apply_refuses_to_overwrite_local_changes(repo: Path, wt: Worktree) -> None:
    base = head_commit(repo)
    (wt.path / "pkg" / "calc.py").write_text(FIXED)
    (wt.path / "pkg" / "added.py").write_text("NEW = 1\n")
    capture(wt)
    sha = commit_candidate(wt, "fix")
    (repo / "pkg" / "calc.py").write_text("# my own edit\n")

    with pytest.raises(SpeckitError, match=r"local changes .* would be overwritten") as error:
        apply_commit(repo, sha, base)
    assert "pkg/calc.py" in error.value.message and "\n" not in error.value.message
    assert head_commit(repo) == base
    assert (repo / "pkg" / "calc.py").read_text() == "# my own edit\n"
    assert not (repo / "pkg" / "added.py").exists()
    assert git(repo, "status", "--porcelain") == " M pkg/calc.py\n"

    (repo / "pkg" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "pkg" / "added.py").write_text("mine, untracked\n")
    with pytest.raises(SpeckitError, match="would be overwritten"):
        apply_commit(repo, sha, base)
    assert (repo / "pkg" / "added.py").read_text() == "mine, untracked\n"
    assert head_commit(repo) == base
