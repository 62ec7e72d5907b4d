"""`--commit` / `[pipeline].commit`: one git commit per stage, holding exactly the stage's
documents and evidence, through the real CLI in real git repositories.

The user's own work (modified, untracked, staged, partly staged files) must stay out of
every commit and stay exactly as it was; a git problem never changes a stage's result.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from speckit.pipeline.state import PIPELINE_STATE_FILE
from speckit.scaffold import init_workspace
from speckit.specs.documents import create_spec
from speckit.workspace import Workspace
from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ScriptedWorkspace

STAGES = ["plan", "tasks", "implement", "validate", "audit", "unlock"]
PLAN_CONFLICT = AGREE + (
    '\n[stages.plan.gpt_pro]\nanswer = { final_plan = { work_breakdown = ["Add limiter"] },'
    ' consensus = { conflicts = ["gemini wants Redis, claude wants memory"] } }\n'
)
REJECTING_HOOK = '#!/bin/sh\necho "lint failed: trailing whitespace in evidence" >&2\nexit 1\n'


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return done.stdout


def identify(root: Path) -> None:
    """A repository identity of its own, so the tests do not depend on the machine's."""
    git(root, "config", "user.name", "Tess Tester")
    git(root, "config", "user.email", "tess@example.org")


def head_count(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def commit_files(root: Path, rev: str) -> set[str]:
    return set(git(root, "show", "--name-only", "--format=", rev).split())


def body_field(root: Path, rev: str, name: str) -> str:
    for line in git(root, "log", "-1", "--format=%B", rev).splitlines():
        if line.startswith(f"{name}: "):
            return line.split(": ", 1)[1]
    raise AssertionError(f"no {name} line in the message of {rev}")


# What each stage of a scripted `auto` changes beside its evidence: plan.md / tasks.md from the
# consensus, and SPEC.md when the row moves (Backlog → In Progress → In Review → Done).
STAGE_DOCUMENTS = {
    "plan": {"plan.md", "SPEC.md"},
    "tasks": {"tasks.md"},
    "implement": set(),
    "validate": {"SPEC.md"},
    "audit": set(),
    "unlock": {"SPEC.md"},
}


def run_evidence(root: Path, spec_id: str, stage: str, rev: str) -> set[str]:
    """The files one run wrote, found on disk from its message's synthesis path and session."""
    synthesis = body_field(root, rev, "Synthesis")
    key = synthesis.rsplit("/", 1)[1].removeprefix(f"spec-{stage}_").removesuffix("_synthesis.json")
    session = body_field(root, rev, "Session")
    consensus = root / "evidence" / "consensus" / spec_id
    commands = root / "evidence" / "commands" / spec_id
    found = {p for p in consensus.iterdir() if p.name.startswith(f"spec-{stage}_{key}_")}
    found |= {p for p in commands.iterdir() if session in p.name}
    return {p.relative_to(root).as_posix() for p in found}


def user_state(root: Path, paths: list[str]) -> tuple[str, str, str]:
    """The user's files as git sees them: status codes, index entries and the staged diff."""
    return (
        git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths),
        git(root, "ls-files", "-s", "--", *paths),
        git(root, "diff", "--cached", "--", *paths),
    )


def test_auto_commit_makes_one_commit_per_stage_and_leaves_the_users_work_alone(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    root, spec_id = scripted.root, scripted.spec_id
    identify(root)
    # the user's work in progress: modified, untracked, staged new, and partly staged
    (root / "memory" / "constitution.md").write_text("half-edited rules\n")
    (root / "notes.txt").write_text("mine, untracked\n")
    (root / "staged.txt").write_text("staged by the user\n")
    (root / "templates" / "plan.md").write_text("staged version\n")
    git(root, "add", "staged.txt", "templates/plan.md")
    (root / "templates" / "plan.md").write_text("worktree version, not staged\n")
    mine = ["memory/constitution.md", "notes.txt", "staged.txt", "templates/plan.md"]
    before, commits_before = user_state(root, mine), head_count(root)

    result = cli("auto", spec_id, "--commit", "--allow-dirty", cwd=root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert head_count(root) == commits_before + len(STAGES)
    subjects = git(root, "log", "--format=%s", f"-{len(STAGES)}").splitlines()
    assert subjects == [f"speckit: {stage} ok for {spec_id}" for stage in reversed(STAGES)]
    assert result.stdout.count(f'"speckit: plan ok for {spec_id}"') == 1
    for back, stage in enumerate(reversed(STAGES)):
        rev = f"HEAD~{back}"
        files = commit_files(root, rev)
        evidence = {name for name in files if name.startswith("evidence/")}
        assert evidence == run_evidence(root, spec_id, stage, rev), stage
        # besides its evidence, only what the stage wrote: its document and SPEC.md's row
        documents = {name.rsplit("/", 1)[-1] for name in files - evidence}
        assert documents == STAGE_DOCUMENTS[stage], stage
        assert any(name.endswith(f"spec-{stage}_{body_field(root, rev, 'Session')}.json")
                   for name in files), "the guardrail record"  # fmt: skip
        assert body_field(root, rev, "Agents") == (
            "claude ok, gpt_codex ok, gpt_pro ok"
            if stage == "implement"
            else "gemini ok, claude ok, gpt_pro ok"
        )
        assert git(root, "log", "-1", "--format=%an <%ae>", rev).strip() == (
            "Tess Tester <tess@example.org>"
        )
        assert "fallback" not in git(root, "log", "-1", "--format=%B", rev)
    assert user_state(root, mine) == before, "the user's files must stay exactly as they were"
    assert (root / "templates" / "plan.md").read_text() == "worktree version, not staged\n"
    assert git(root, "show", ":templates/plan.md") == "staged version\n"
    left = git(root, "status", "--porcelain", "--untracked-files=all").splitlines()
    speckits = [line for line in left if not any(line.endswith(p) for p in mine)]
    # only auto's own progress file (running / halted / completed) is left: not a stage's
    assert speckits == [f"?? evidence/pipeline/{spec_id}/{PIPELINE_STATE_FILE}"], left


@pytest.mark.parametrize("inner", ["", "services/login"])
def test_run_commit_after_new_holds_the_documents_and_leaves_the_tree_clean(
    cli: CliRunner, tmp_path: Path, inner: str
) -> None:
    """`speckit new` writes docs/<SPEC>/ and a SPEC.md row: the plan commit holds them, and
    the next plan run finds a clean tree (nothing allowed, nothing blocking). The workspace
    may be a folder inside the repository (`inner`)."""
    repo = tmp_path / "repo"
    root = repo / inner
    init_workspace(root, which=lambda _n: None, local=False)
    scripted = ScriptedWorkspace(root, "")
    scripted.configure()
    scripted.script(AGREE)
    (root / ".gitignore").write_text(".speckit/\nagents.toml\n")
    git(repo, "init", "-q")
    identify(repo)
    scripted.commit()
    new = cli("new", "Rate limit login", cwd=root)
    assert new.returncode == 0, new.stderr
    spec_id = next(p.name for p in (root / "docs").iterdir() if p.name.startswith("SPEC-"))
    documents = {f"docs/{spec_id}/{p.name}" for p in (root / "docs" / spec_id).iterdir()}
    assert f"docs/{spec_id}/spec.md" in documents

    result = cli("run", "plan", spec_id, "--commit", cwd=root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert git(root, "log", "-1", "--format=%s").strip() == f"speckit: plan ok for {spec_id}"
    files = commit_files(repo, "HEAD")
    expected = documents | {"SPEC.md"} | run_evidence(root, spec_id, "plan", "HEAD")
    assert files == {f"{inner}/{path}" if inner else path for path in expected}
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    again = cli("run", "plan", spec_id, "--json", cwd=root)
    assert again.returncode == 0, again.stderr
    session = json.loads(again.stdout)["sessionId"]
    record = root / "evidence" / "commands" / spec_id / f"spec-plan_{session}.json"
    clean_tree = json.loads(record.read_text())["clean_tree"]
    assert clean_tree["status"] == "passed"
    assert clean_tree["allowed_changes"] == [] and clean_tree["modified"] == []
    assert "committed" not in again.stderr, "no --commit, no commit"


def test_without_commit_nothing_is_staged_and_the_stages_still_pass(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    root, spec_id = scripted.root, scripted.spec_id
    commits = head_count(root)
    first = cli("auto", spec_id, cwd=root)
    assert first.returncode == 0, first.stdout + first.stderr
    rerun = cli("auto", spec_id, "--from", "plan", cwd=root)  # the plan guardrail again
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert head_count(root) == commits
    assert "committed" not in first.stdout + rerun.stdout
    assert git(root, "diff", "--cached", "--name-only") == "", "nothing staged"


def test_config_commit_true_and_no_commit_for_one_run(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    root, spec_id = scripted.root, scripted.spec_id
    identify(root)
    config = root / "speckit.toml"
    config.write_text(config.read_text().replace("commit = false", "commit = true"))
    assert "commit = true" in config.read_text()
    scripted.commit()
    commits = head_count(root)
    assert cli("run", "plan", spec_id, cwd=root).returncode == 0
    assert head_count(root) == commits + 1
    skipped = cli("run", "tasks", spec_id, "--no-commit", cwd=root)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert head_count(root) == commits + 1
    assert git(root, "log", "-1", "--format=%s").strip() == f"speckit: plan ok for {spec_id}"


def test_a_rejecting_hook_is_a_warning_and_the_verdict_stands(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    root, spec_id = scripted.root, scripted.spec_id
    identify(root)
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text(REJECTING_HOOK)
    hook.chmod(0o755)
    (root / "staged.txt").write_text("staged by the user\n")
    notes = root / "docs" / spec_id / "notes.md"  # one of the SPEC's documents, partly staged
    notes.write_text("staged notes\n")
    git(root, "add", "staged.txt", notes.relative_to(root).as_posix())
    notes.write_text("newer notes, not staged\n")
    before, commits = git(root, "ls-files", "-s"), head_count(root)

    ok = cli("run", "plan", spec_id, "--commit", "--allow-dirty", cwd=root)
    scripted.script(PLAN_CONFLICT)
    conflict = cli("run", "plan", spec_id, "--commit", "--allow-dirty", cwd=root)

    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert conflict.returncode == 2, conflict.stdout + conflict.stderr
    for result in (ok, conflict):
        [line] = [line for line in result.stdout.splitlines() if "not committed" in line]
        assert "lint failed: trailing whitespace in evidence" in line
    assert head_count(root) == commits
    assert git(root, "ls-files", "-s") == before, "the index is as it was: nothing left staged"
    status = git(root, "status", "--porcelain", "--untracked-files=all")
    assert "A  staged.txt" in status
    assert [line for line in status.splitlines() if line.startswith("A")] == [
        f"AM docs/{spec_id}/notes.md",
        "A  staged.txt",
    ]
    assert git(root, "show", f":docs/{spec_id}/notes.md") == "staged notes\n"
    assert len(list(scripted.consensus_dir().glob("spec-plan_*_synthesis.json"))) == 2


def test_a_conflict_is_committed_with_its_verdict(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    root, spec_id = scripted.root, scripted.spec_id
    identify(root)
    scripted.script(PLAN_CONFLICT)
    halted = cli("auto", spec_id, "--commit", cwd=root)
    assert halted.returncode == 2, halted.stdout + halted.stderr
    assert git(root, "log", "-1", "--format=%s").strip() == f"speckit: plan conflict for {spec_id}"
    assert "gpt_pro" in body_field(root, "HEAD", "Agents")


def test_no_git_identity_uses_a_fallback_named_in_the_message(
    cli: CliRunner, scripted: ScriptedWorkspace, tmp_path: Path
) -> None:
    root, spec_id = scripted.root, scripted.spec_id
    empty = tmp_path / "empty.gitconfig"
    empty.write_text("")
    env = {"GIT_CONFIG_GLOBAL": str(empty), "GIT_CONFIG_NOSYSTEM": "1"}
    assert not {"EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"} & set(os.environ)
    result = cli("run", "plan", spec_id, "--commit", cwd=root, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "note:     committed" in result.stdout
    assert git(root, "log", "-1", "--format=%an <%ae>").strip() == "speckit <speckit@localhost>"
    assert "no git user.name/user.email is configured" in git(root, "log", "-1", "--format=%b")


def test_outside_git_the_run_notes_it_and_keeps_its_exit_code(
    cli: CliRunner, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    init_workspace(root, which=lambda _n: None, local=False)
    scripted = ScriptedWorkspace(root, "")
    scripted.configure()
    scripted.script(PLAN_CONFLICT)
    spec_id, _line = create_spec(Workspace(root), "Rate limit login")
    result = cli("run", "plan", spec_id, "--commit", cwd=root)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not committed: the workspace is not in a git repository" in result.stdout
    scripted.script(AGREE)
    no_git = cli("run", "plan", spec_id, "--commit", cwd=root, env={"PATH": str(tmp_path)})
    assert no_git.returncode == 0, no_git.stdout + no_git.stderr
    assert "not committed: git is not installed" in no_git.stdout


def test_the_policy_agents_raw_answers_are_in_the_commit(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    from tests.pipeline.test_policy_telemetry import with_policy_bot

    root, spec_id = scripted.root, scripted.spec_id
    identify(root)
    with_policy_bot(scripted)
    result = cli("run", "plan", spec_id, "--commit", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    files = commit_files(root, "HEAD")
    policy = [name for name in files if "_policy_policy_bot_raw" in name]
    assert policy and all(name.startswith(f"evidence/commands/{spec_id}/") for name in policy)
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
