"""Clean-tree check of the plan guardrail, on real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from speckit.guardrails import run_guardrail
from speckit.workspace import Workspace
from tests.guardrails.conftest import Repo
from tests.guardrails.helpers import check_named, commit_all, git

NO_ENV: dict[str, str] = {}


def test_clean_repo_passes(repo: Repo) -> None:
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env=NO_ENV)
    assert outcome.passed, outcome.failed_checks
    assert check_named(outcome.checks, "clean-tree").status == "passed"
    assert outcome.record["hooks"] == {"session.start": "ok"}


def test_modified_tracked_file_is_refused_and_named(repo: Repo) -> None:
    (repo.root / "memory" / "constitution.md").write_text("changed\n")
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env=NO_ENV)
    assert not outcome.passed
    [failed] = outcome.failed_checks
    assert failed.name == "clean-tree"
    assert "memory/constitution.md" in failed.reason
    assert "--allow-dirty" in failed.reason
    assert outcome.record["status"] == "failed"
    assert outcome.record["hooks"] == {"session.start": "failed"}
    assert outcome.record["clean_tree"]["modified"] == ["memory/constitution.md"]


def test_staged_new_file_is_refused(repo: Repo) -> None:
    (repo.root / "new.py").write_text("x = 1\n")
    git(repo.root, "add", "new.py")
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env=NO_ENV)
    assert [c.name for c in outcome.failed_checks] == ["clean-tree"]
    assert "new.py" in outcome.failed_checks[0].reason


def test_untracked_files_do_not_count(repo: Repo) -> None:
    (repo.root / "scratch.txt").write_text("notes\n")
    (repo.root / "docs" / "extra").mkdir()
    (repo.root / "docs" / "extra" / "draft.md").write_text("draft\n")
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env=NO_ENV)
    assert outcome.passed, outcome.failed_checks


def test_own_evidence_and_cache_never_count(repo: Repo) -> None:
    first = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env=NO_ENV)
    assert first.passed
    # commit the evidence and a cache file, then change both: still clean for speckit
    (repo.root / ".speckit" / "state.json").write_text("{}\n")
    git(repo.root, "add", "-f", ".speckit/state.json")
    commit_all(repo.root, "evidence")
    first.record_path.write_text("{}\n")
    (repo.root / ".speckit" / "state.json").write_text('{"changed": true}\n')
    assert git(repo.root, "status", "--porcelain")  # git itself sees the changes
    second = run_guardrail(repo.ws, repo.spec_id, "plan", "s2", env=NO_ENV)
    assert second.passed, second.failed_checks


def test_allow_dirty_flag_passes_and_records_it(repo: Repo) -> None:
    (repo.root / "SPEC.md").write_text((repo.root / "SPEC.md").read_text() + "\nnote\n")
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", allow_dirty=True, env=NO_ENV)
    assert outcome.passed
    tree = check_named(outcome.checks, "clean-tree")
    assert tree.status == "passed"
    assert "allowed by --allow-dirty" in tree.reason
    assert outcome.record["clean_tree"]["allowed_by"] == "--allow-dirty"
    assert outcome.record["clean_tree"]["modified"] == ["SPEC.md"]


def test_allow_dirty_env_passes_and_records_it(repo: Repo) -> None:
    (repo.root / "memory" / "constitution.md").write_text("changed\n")
    env = {"SPEC_OPS_ALLOW_DIRTY": "1"}
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env=env)
    assert outcome.passed
    assert outcome.record["clean_tree"]["allowed_by"] == "SPEC_OPS_ALLOW_DIRTY=1"
    assert run_guardrail(repo.ws, repo.spec_id, "plan", "s2", env={"SPEC_OPS_ALLOW_DIRTY": "0"}
                         ).passed is False  # fmt: skip


def test_workspace_in_a_subfolder_checks_the_whole_repository(tmp_path: Path) -> None:
    from speckit.scaffold import init_workspace
    from speckit.specs.documents import create_spec

    top = tmp_path / "repo"
    init_workspace(top / "ws", which=lambda _name: None)
    (top / "app.py").write_text("print('hi')\n")
    git(top, "init", "-q")
    spec_id, _ = create_spec(Workspace(top / "ws"), "Sub folder workspace")
    commit_all(top)
    ws = Workspace(top / "ws")
    assert run_guardrail(ws, spec_id, "plan", "s1", env=NO_ENV).passed
    (top / "app.py").write_text("print('changed')\n")
    outcome = run_guardrail(ws, spec_id, "plan", "s2", env=NO_ENV)
    assert "app.py" in outcome.failed_checks[0].reason


def test_not_a_git_repository_is_skipped_with_reason(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from speckit.specs.documents import create_spec

    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(workspace.parent))
    ws = Workspace(workspace)
    spec_id, _ = create_spec(ws, "No git here")
    outcome = run_guardrail(ws, spec_id, "plan", "s1", env=NO_ENV)
    tree = check_named(outcome.checks, "clean-tree")
    assert (tree.status, tree.reason) == ("skipped", "not a git repository")
    assert outcome.passed
