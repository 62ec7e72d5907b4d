"""Candidate worktrees in real git repositories: made, listed, removed, pruned when their
owner is gone (a real process killed with SIGKILL), and the main tree's snapshot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from speckit.errors import SpeckitError
from speckit.implement.git import git_toplevel, head_commit
from speckit.implement.snapshot import changes_since, snapshot
from speckit.implement.worktrees import (
    OWNER_FILE,
    create_worktree,
    finish_run,
    list_worktrees,
    prune_stale,
    read_owner,
    ref_safe,
    remove_run,
    remove_worktree,
    run_dir,
)
from tests.conftest import REPO_ROOT

SPEC = "SPEC-KIT-014-implement"
RUN = "2026-11-29T18:30:00Z-2"


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env |= {"GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.org"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env
    )
    return done.stdout


def make_repo(path: Path) -> Path:
    """A small Python project with one commit."""
    (path / "pkg").mkdir(parents=True)
    (path / "pkg" / "__init__.py").write_text("")
    (path / "pkg" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (path / "tests").mkdir()
    (path / "tests" / "test_calc.py").write_text(
        "from pkg.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "start")
    return path


def speckit_branches(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/speckit/").split()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "my project")


def test_ref_safe_turns_run_keys_into_branch_and_path_parts() -> None:
    assert ref_safe("2026-11-29T18:30:00Z-2") == "20261129T183000Z-2"
    assert ref_safe("2026-11-29T18:30:00Z") == "20261129T183000Z"
    assert ref_safe("20261129T183000Z-2") == "20261129T183000Z-2"  # already safe: unchanged
    assert ref_safe("../a b:c..d.lock") == "a-b-c.d"
    with pytest.raises(SpeckitError, match="nothing usable"):
        ref_safe("::")


def test_git_toplevel_names_what_is_missing(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(SpeckitError, match=r"not in a git repository.*git init") as error:
        git_toplevel(plain)
    assert "\n" not in error.value.message
    git(plain, "init", "-q")
    with pytest.raises(SpeckitError, match="has no commit yet"):
        git_toplevel(plain)
    make_repo(tmp_path / "done")
    assert git_toplevel(tmp_path / "done" / "pkg") == (tmp_path / "done").resolve()


def test_create_list_and_remove_a_run(repo: Path) -> None:
    base = head_commit(repo)
    one = create_worktree(repo, repo, SPEC, RUN, "claude", base)
    two = create_worktree(repo, repo, SPEC, RUN, "gpt_codex", base)

    assert one.path == repo / ".speckit" / "worktrees" / SPEC / "20261129T183000Z-2" / "claude"
    assert one.branch == f"speckit/{SPEC}/claude-20261129T183000Z-2"
    assert (one.path / "pkg" / "calc.py").read_text().startswith("def add")
    assert git(one.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == one.branch
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""  # nothing shows
    owner = read_owner(run_dir(repo, SPEC, RUN))
    assert owner is not None and owner["pid"] == os.getpid() and owner["base"] == base

    infos = list_worktrees(repo, repo)
    assert [(i.agent, i.state, i.branch) for i in infos] == [
        ("claude", "running", one.branch),
        ("gpt_codex", "running", two.branch),
    ]
    assert infos[0].spec_id == SPEC and infos[0].run_key == "20261129T183000Z-2"

    assert remove_run(repo, repo, SPEC, RUN) == 2
    assert list_worktrees(repo, repo) == []
    assert speckit_branches(repo) == []
    assert not (repo / ".speckit" / "worktrees" / SPEC).exists()
    assert "worktrees" not in git(repo, "worktree", "list")


def test_workspace_in_a_sub_folder_and_a_detached_head(repo: Path) -> None:
    root = repo / "work space"
    root.mkdir()
    git(repo, "checkout", "-q", "--detach")
    base = head_commit(repo)
    wt = create_worktree(repo, root, SPEC, RUN, "claude", base)
    assert wt.path.is_relative_to(root / ".speckit" / "worktrees")
    assert (wt.path / "pkg" / "calc.py").is_file()  # the whole repository, not the sub-folder
    assert [i.agent for i in list_worktrees(repo, root)] == ["claude"]
    remove_worktree(wt)
    remove_worktree(wt)  # already gone: fine
    assert list_worktrees(repo, root) == []


def test_bad_names_never_build_a_path_outside(repo: Path) -> None:
    base = head_commit(repo)
    with pytest.raises(SpeckitError, match="not a SPEC id"):
        create_worktree(repo, repo, "../../etc", RUN, "claude", base)
    with pytest.raises(SpeckitError, match="cannot name a git branch"):
        create_worktree(repo, repo, SPEC, RUN, "a..b", base)
    with pytest.raises(SpeckitError, match="cannot name a git branch"):
        create_worktree(repo, repo, SPEC, RUN, "../x", base)
    assert not (repo / ".speckit").exists() or not any((repo / ".speckit").rglob("x"))


def test_a_second_worktree_for_the_same_agent_and_run_is_refused(repo: Path) -> None:
    base = head_commit(repo)
    create_worktree(repo, repo, SPEC, RUN, "claude", base)
    with pytest.raises(SpeckitError, match="could not make the worktree of claude") as error:
        create_worktree(repo, repo, SPEC, RUN, "claude", base)
    assert "\n" not in error.value.message


def test_worktrees_made_from_several_threads_at_once(repo: Path) -> None:
    base = head_commit(repo)
    errors: list[BaseException] = []

    def make(agent: str) -> None:
        try:
            create_worktree(repo, repo, SPEC, RUN, agent, base)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(f"agent{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(i.agent for i in list_worktrees(repo, repo)) == [f"agent{n}" for n in range(4)]


OWNER_SCRIPT = """
import sys, time
from pathlib import Path
from speckit.implement.git import head_commit
from speckit.implement.worktrees import create_worktree
repo = Path(sys.argv[1])
create_worktree(repo, repo, sys.argv[2], sys.argv[3], "claude", head_commit(repo))
print("ready", flush=True)
time.sleep(120)
"""


def start_owner(repo: Path, run_key: str) -> subprocess.Popen[str]:
    """A real speckit process that makes a run's worktree, then stays alive."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, str(repo), SPEC, run_key],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
    return owner


def test_a_run_whose_owner_was_killed_is_stale_and_pruned_a_live_one_is_not(
    repo: Path,
) -> None:
    live = start_owner(repo, "2026-11-29T10:00:00Z")
    doomed = start_owner(repo, "2026-11-29T11:00:00Z")
    try:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        states = {i.run_key: i.state for i in list_worktrees(repo, repo)}
        assert states == {"20261129T100000Z": "running", "20261129T110000Z": "stale"}

        assert [i.run_key for i in prune_stale(repo, repo, dry_run=True)] == ["20261129T110000Z"]
        assert len(list_worktrees(repo, repo)) == 2  # a dry run removes nothing

        removed = prune_stale(repo, repo, everything=True)
        assert [(i.run_key, i.agent) for i in removed] == [("20261129T110000Z", "claude")]
        left = list_worktrees(repo, repo)
        assert [(i.run_key, i.state) for i in left] == [("20261129T100000Z", "running")]
        assert left[0].path is not None and left[0].path.is_dir()
        assert speckit_branches(repo) == [f"speckit/{SPEC}/claude-20261129T100000Z"]
        assert not run_dir(repo, SPEC, "2026-11-29T11:00:00Z").exists()
    finally:
        live.kill()
        live.wait(10)
    assert [i.state for i in list_worktrees(repo, repo)] == ["stale"]


def test_a_reused_pid_is_not_the_owner(repo: Path) -> None:
    create_worktree(repo, repo, SPEC, RUN, "claude", head_commit(repo))
    path = run_dir(repo, SPEC, RUN) / OWNER_FILE
    owner = json.loads(path.read_text())
    owner["pid_start"] = "1"  # our pid, but a process started at another time
    path.write_text(json.dumps(owner))
    assert [i.state for i in list_worktrees(repo, repo)] == ["stale"]


def test_prune_keeps_a_branch_handed_to_the_user_until_it_is_merged(repo: Path) -> None:
    base = head_commit(repo)
    wt = create_worktree(repo, repo, SPEC, RUN, "claude", base)
    create_worktree(repo, repo, SPEC, RUN, "gemini", base)
    (wt.path / "pkg" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(wt.path, "commit", "-q", "-am", "fix")
    remove_run(repo, repo, SPEC, RUN, keep_branches=[wt.branch])

    [info] = list_worktrees(repo, repo)
    assert (info.agent, info.path, info.state, info.kept) == ("claude", None, "finished", True)
    assert prune_stale(repo, repo) == []  # finished: only --all touches it
    assert prune_stale(repo, repo, everything=True) == []  # kept and unmerged: never
    assert speckit_branches(repo) == [wt.branch]

    git(repo, "merge", "-q", "--ff-only", wt.branch)
    [info] = list_worktrees(repo, repo)
    assert info.state == "applied"
    assert [i.branch for i in prune_stale(repo, repo, everything=True)] == [wt.branch]
    assert list_worktrees(repo, repo) == []
    assert not run_dir(repo, SPEC, RUN).exists()


def test_finished_runs_go_only_with_everything(repo: Path) -> None:
    create_worktree(repo, repo, SPEC, RUN, "claude", head_commit(repo))
    finish_run(repo, SPEC, RUN)
    assert [i.state for i in list_worktrees(repo, repo)] == ["finished"]
    assert prune_stale(repo, repo) == []
    assert [i.agent for i in prune_stale(repo, repo, everything=True)] == ["claude"]
    assert list_worktrees(repo, repo) == []


def test_a_branch_left_without_its_run_folder_is_listed_and_pruned(repo: Path) -> None:
    git(repo, "branch", f"speckit/{SPEC}/claude-20261129T183000Z-2")
    [info] = list_worktrees(repo, repo)
    assert (info.agent, info.run_key, info.path) == ("claude", "20261129T183000Z-2", None)
    assert info.state == "stale"  # merged, but it holds no commit of its own
    assert len(prune_stale(repo, repo)) == 1
    assert speckit_branches(repo) == []


def test_snapshot_sees_what_changed_in_the_main_tree(repo: Path) -> None:
    evidence = repo / "evidence"
    evidence.mkdir()
    (evidence / "old.json").write_text("{}")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "dirty.txt").write_text("already dirty\n")  # untracked before: fine if unchanged
    exclude = [evidence, repo / ".speckit"]
    wt = create_worktree(repo, repo, SPEC, RUN, "claude", head_commit(repo))
    before = snapshot(repo, exclude)
    assert changes_since(repo, before, exclude) == []

    (evidence / "new.json").write_text("{}")  # speckit writes evidence while agents run
    (wt.path / "pkg" / "calc.py").write_text("changed in the worktree\n")
    (repo / "run.log").write_text("ignored\n")
    assert changes_since(repo, before, exclude) == []

    (repo / "pkg" / "calc.py").write_text("def add(a, b):\n    return 0\n")
    (repo / "notes.md").write_text("new\n")
    (repo / "dirty.txt").write_text("dirty, then changed\n")
    assert changes_since(repo, before, exclude) == ["dirty.txt", "notes.md", "pkg/calc.py"]

    git(repo, "checkout", "-q", "--", "pkg/calc.py")
    (repo / "notes.md").unlink()
    (repo / "dirty.txt").write_text("already dirty\n")
    assert changes_since(repo, before, exclude) == []  # put back as it was

    (repo / "tests" / "test_calc.py").write_text("staged\n")
    git(repo, "add", "tests/test_calc.py")
    staged = snapshot(repo, exclude)
    git(repo, "checkout", "-q", "HEAD", "--", "tests/test_calc.py")
    assert changes_since(repo, staged, exclude) == ["tests/test_calc.py"]

    git(repo, "commit", "-q", "--allow-empty", "-m", "moved")
    assert changes_since(repo, staged, exclude)[0] == "HEAD"
