"""Clean-tree check of the plan guardrail, on real git repositories."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from speckit.guardrails import run_guardrail
from speckit.specs.documents import create_spec
from speckit.telemetry.rules import check_guardrail_record
from speckit.workspace import Workspace
from tests.conftest import CliRunner
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
    (repo.root / "speckit.toml").write_text((repo.root / "speckit.toml").read_text() + "\n")
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", allow_dirty=True, env=NO_ENV)
    assert outcome.passed
    tree = check_named(outcome.checks, "clean-tree")
    assert tree.status == "passed"
    assert "allowed by --allow-dirty" in tree.reason
    assert outcome.record["clean_tree"]["allowed_by"] == "--allow-dirty"
    assert outcome.record["clean_tree"]["modified"] == ["speckit.toml"]


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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_new_specs_documents_and_tracker_row_are_allowed_and_hashed(repo: Repo) -> None:
    # exactly what `speckit new` leaves: SPEC.md modified, docs/<SPEC>/ untracked
    spec_id, _ = create_spec(repo.ws, "Cache the session tokens")
    assert git(repo.root, "status", "--porcelain")  # git sees a dirty tree
    outcome = run_guardrail(repo.ws, spec_id, "plan", "s1", env=NO_ENV)
    assert outcome.passed, outcome.failed_checks
    tree = check_named(outcome.checks, "clean-tree")
    assert tree.status == "passed"
    assert "4 changed SPEC input(s) allowed" in tree.reason
    recorded = outcome.record["clean_tree"]
    assert recorded["modified"] == [] and recorded["allowed_by"] is None
    expected = [
        {"path": "SPEC.md", "change": "modified", "sha256": _sha256(repo.root / "SPEC.md")},
        *(
            {"path": f"docs/{spec_id}/{name}", "change": "untracked",
             "sha256": _sha256(repo.root / "docs" / spec_id / name)}
            for name in ("plan.md", "spec.md", "tasks.md")
        ),
    ]  # fmt: skip
    assert recorded["allowed_changes"] == expected
    assert check_guardrail_record(outcome.record) == []


def test_staged_and_deleted_inputs_are_allowed_with_their_state(repo: Repo) -> None:
    docs = repo.root / "docs" / repo.spec_id
    (docs / "notes.md").write_text("research notes\n")
    git(repo.root, "add", "docs")
    (docs / "plan.md").unlink()
    (docs / "spec.md").write_text("# Spec\n\nEdited after review.\n")
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env=NO_ENV)
    assert check_named(outcome.checks, "clean-tree").status == "passed"
    changes = {c["path"]: c for c in outcome.record["clean_tree"]["allowed_changes"]}
    prefix = f"docs/{repo.spec_id}"
    assert changes[f"{prefix}/notes.md"]["change"] == "added"
    assert changes[f"{prefix}/notes.md"]["sha256"] == _sha256(docs / "notes.md")
    assert changes[f"{prefix}/plan.md"] == {
        "path": f"{prefix}/plan.md",
        "change": "deleted",
        "sha256": None,
    }
    assert changes[f"{prefix}/spec.md"]["change"] == "modified"
    assert set(changes) == {f"{prefix}/notes.md", f"{prefix}/plan.md", f"{prefix}/spec.md"}


def test_another_specs_documents_still_block(repo: Repo) -> None:
    other = repo.root / "docs" / repo.spec_id / "plan.md"
    spec_id, _ = create_spec(repo.ws, "Cache the session tokens")
    other.write_text(other.read_text() + "\nchanged under another SPEC\n")
    outcome = run_guardrail(repo.ws, spec_id, "plan", "s1", env=NO_ENV)
    assert [c.name for c in outcome.failed_checks] == ["clean-tree"]
    assert outcome.record["clean_tree"]["modified"] == [f"docs/{repo.spec_id}/plan.md"]
    assert f"docs/{repo.spec_id}/plan.md" in outcome.failed_checks[0].reason
    # the new SPEC's own changes are still recorded, and still not blamed
    paths = [c["path"] for c in outcome.record["clean_tree"]["allowed_changes"]]
    assert "SPEC.md" in paths and f"docs/{spec_id}/spec.md" in paths


def test_a_modified_file_beside_allowed_inputs_is_the_only_one_named(repo: Repo) -> None:
    create_spec(repo.ws, "Cache the session tokens")
    (repo.root / "memory" / "constitution.md").write_text("changed\n")
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env=NO_ENV)
    [failed] = outcome.failed_checks
    assert failed.reason.startswith("1 modified or staged tracked file(s): memory/constitution.md;")
    assert outcome.record["clean_tree"]["modified"] == ["memory/constitution.md"]


def test_a_spec_folder_sharing_a_name_prefix_is_not_an_input(repo: Repo) -> None:
    sibling = repo.root / "docs" / f"{repo.spec_id}-old"
    sibling.mkdir()
    (sibling / "spec.md").write_text("old\n")
    commit_all(repo.root, "old copy")
    (sibling / "spec.md").write_text("changed\n")
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env=NO_ENV)
    assert outcome.record["clean_tree"]["modified"] == [f"docs/{repo.spec_id}-old/spec.md"]


def test_workspace_in_a_subfolder_allows_its_own_inputs(tmp_path: Path) -> None:
    from speckit.scaffold import init_workspace

    top = tmp_path / "repo"
    init_workspace(top / "ws", which=lambda _name: None)
    git(top, "init", "-q")
    commit_all(top)
    ws = Workspace(top / "ws")
    spec_id, _ = create_spec(ws, "Sub folder workspace")
    outcome = run_guardrail(ws, spec_id, "plan", "s1", env=NO_ENV)
    assert outcome.passed, outcome.failed_checks
    paths = [c["path"] for c in outcome.record["clean_tree"]["allowed_changes"]]
    assert paths[0] == "SPEC.md" and all(p.startswith(("SPEC.md", "docs/")) for p in paths)


def test_recorded_hashes_pass_telemetry_validate(repo: Repo, cli: CliRunner) -> None:
    spec_id, _ = create_spec(repo.ws, "Cache the session tokens")
    assert run_guardrail(repo.ws, spec_id, "plan", "s1", env=NO_ENV).passed
    result = cli("telemetry", "validate", cwd=repo.root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_failed_evidence_write_is_raised_after_both_writes_ended(tmp_path: Path) -> None:
    from speckit.guardrails.record import write_together

    done: list[str] = []

    def failing() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_together(failing, lambda: done.append("second"))
    with pytest.raises(OSError, match="disk full"):
        write_together(lambda: done.append("first"), failing)
    assert done == ["second", "first"]
