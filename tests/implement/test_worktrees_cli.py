"""`speckit worktrees list|prune` as a user runs them, in a workspace that is a git repo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from speckit.implement.git import head_commit
from speckit.implement.worktrees import OWNER_FILE, create_worktree, run_dir
from tests.conftest import CliRunner

SPEC = "SPEC-KIT-014-implement"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def committed(workspace: Path) -> Path:
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "add", "-A")
    git(workspace, "-c", "user.name=T", "-c", "user.email=t@x", "commit", "-q", "-m", "start")
    return workspace


def dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_list_and_prune_a_stale_run_but_not_a_live_one(workspace: Path, cli: CliRunner) -> None:
    repo = committed(workspace)
    base = head_commit(repo)
    create_worktree(repo, repo, SPEC, "2026-11-29T10:00:00Z", "claude", base)  # ours: alive
    create_worktree(repo, repo, SPEC, "2026-11-29T11:00:00Z", "gpt_codex", base)
    owner_file = run_dir(repo, SPEC, "2026-11-29T11:00:00Z") / OWNER_FILE
    owner = json.loads(owner_file.read_text())
    owner["pid"] = dead_pid()  # its speckit was killed with -9
    owner_file.write_text(json.dumps(owner))

    listed = cli("worktrees", "list", cwd=workspace)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["SPEC", "Run", "Agent", "Branch", "State", "Path"]
    assert lines[1].split() == [
        SPEC,
        "20261129T100000Z",
        "claude",
        f"speckit/{SPEC}/claude-20261129T100000Z",
        "running",
        f".speckit/worktrees/{SPEC}/20261129T100000Z/claude",
    ]
    assert lines[2].split()[2:5] == [
        "gpt_codex",
        f"speckit/{SPEC}/gpt_codex-20261129T110000Z",
        "stale",
    ]
    rows = json.loads(cli("worktrees", "list", "--json", cwd=workspace).stdout)
    states = [(r["agent"], r["state"]) for r in rows]
    assert states == [("claude", "running"), ("gpt_codex", "stale")]

    dry = cli("worktrees", "prune", "--dry-run", cwd=workspace)
    assert dry.returncode == 0, dry.stderr
    assert "would remove stale" in dry.stdout and "gpt_codex" in dry.stdout
    assert len(json.loads(cli("worktrees", "list", "--json", cwd=workspace).stdout)) == 2

    pruned = cli("worktrees", "prune", "--all", cwd=workspace)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines()[-1] == "removed 1 worktree(s)/branch(es)"
    rows = json.loads(cli("worktrees", "list", "--json", cwd=workspace).stdout)
    assert [(r["agent"], r["state"]) for r in rows] == [("claude", "running")]
    assert git(repo, "status", "--porcelain") == ""

    assert cli("worktrees", "prune", cwd=workspace).stdout.strip() == "nothing to prune"


def test_outside_a_git_repository_one_line_says_what_to_do(workspace: Path, cli: CliRunner) -> None:
    done = cli("worktrees", "list", cwd=workspace)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "is not in a git repository" in done.stderr and "git init" in done.stderr


def test_help_teaches_the_states_and_what_prune_keeps(cli: CliRunner, tmp_path: Path) -> None:
    group = cli("worktrees", "--help", cwd=tmp_path).stdout
    for word in ("running", "stale", "finished", "applied", ".speckit/worktrees"):
        assert word in group
    prune = cli("worktrees", "prune", "--help", cwd=tmp_path).stdout
    assert "--all" in prune and "--dry-run" in prune and "git branch -D" in prune
    assert "worktrees" in cli("--help", cwd=tmp_path).stdout
