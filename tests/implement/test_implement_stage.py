"""implement codes in worktrees and the tests decide: real git, real unittest runs."""

from __future__ import annotations

import json

from tests.conftest import run_speckit
from tests.implement.conftest import (
    BROKEN,
    RIGHT,
    TEST_COMMAND,
    WRONG,
    Project,
    implementer,
    reviewer,
)


def test_the_tests_pick_the_right_candidate_and_it_becomes_one_commit(project: Project) -> None:
    project.script(
        implementer("claude", WRONG), implementer("gpt_codex", RIGHT), reviewer("claude")
    )
    head_before = project.git("rev-parse", "HEAD").strip()

    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)

    assert done.returncode == 0, done.stdout + done.stderr
    synthesis = project.synthesis()
    assert synthesis["status"] == "ok"
    assert synthesis["winner"] == "gpt_codex"  # passes the tests: beats the reviewer's pick
    by_agent = {c["agent"]: c for c in synthesis["candidates"]}
    assert by_agent["gpt_codex"]["tests"]["green"] is True
    assert by_agent["gpt_codex"]["tests"]["passed"] == 2
    assert by_agent["claude"]["tests"]["green"] is False
    assert by_agent["claude"]["tests"]["failed"] == 1
    assert by_agent["claude"]["files"] == ["calc/ops.py"]
    assert synthesis["base_tests"]["green"] is False  # "already red" is visible
    assert synthesis["agreements"][0]["text"] == "calc/ops.py"  # both changed it
    # the winner is one commit on the branch, with the run's trailer
    assert project.git("rev-parse", "HEAD~1").strip() == head_before
    assert (project.root / "calc" / "ops.py").read_text() == RIGHT
    message = project.git("log", "-1", "--format=%B")
    assert f"implement {project.spec_id} by gpt_codex" in message
    assert "Speckit-Run: " in message
    assert project.git("show", "--stat", "--format=", "HEAD").count("|") == 1  # calc/ops.py only
    # evidence: each candidate's patch and test log
    for agent in ("claude", "gpt_codex"):
        patch = project.root / "evidence" / by_agent[agent]["patch"]
        assert "calc/ops.py" in patch.read_text()
        log = project.root / "evidence" / by_agent[agent]["tests"]["log"]
        assert "Ran 2 tests" in log.read_text()
    # nothing left behind: no worktree, no speckit branch, a clean tree
    assert len(project.worktrees()) == 1
    assert project.speckit_branches() == []
    assert project.git("status", "--porcelain", "--", "calc", "tests") == ""
    assert "winner" in done.stdout and "gpt_codex" in done.stdout


def test_telemetry_counts_the_winners_tests(project: Project) -> None:
    project.script(implementer("claude", RIGHT), implementer("gpt_codex", RIGHT), reviewer())
    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(project.consensus.glob("spec-implement_*_telemetry.jsonl")).read_text()
    quality = json.loads(line.splitlines()[-1])["quality_metrics"]
    assert (quality["automated_checks_passed"], quality["automated_checks_failed"]) == (2, 0)


def test_no_passing_candidate_is_degraded_and_applies_nothing(project: Project) -> None:
    project.script(implementer("claude", WRONG), implementer("gpt_codex", BROKEN), reviewer())
    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)
    assert done.returncode == 3, done.stdout + done.stderr
    synthesis = project.synthesis()
    assert synthesis["status"] == "degraded"
    assert synthesis["winner"] is None
    assert any("no candidate passes the tests" in r for r in synthesis["reasons"])
    assert any(c["status"] == "empty" for c in synthesis["candidates"])  # BROKEN = unchanged
    assert (project.root / "calc" / "ops.py").read_text() == BROKEN
    assert len(project.worktrees()) == 1 and project.speckit_branches() == []


def test_apply_branch_leaves_the_winner_on_its_branch(project: Project) -> None:
    project.configure(extra="")
    toml = (
        (project.root / "speckit.toml").read_text().replace('apply = "commit"', 'apply = "branch"')
    )
    (project.root / "speckit.toml").write_text(toml)
    project.commit("apply on a branch")
    head = project.git("rev-parse", "HEAD").strip()
    project.script(implementer("claude", RIGHT), implementer("gpt_codex", WRONG), reviewer())

    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)

    assert done.returncode == 0, done.stdout + done.stderr
    assert project.git("rev-parse", "HEAD").strip() == head
    branches = project.speckit_branches()
    assert len(branches) == 1 and branches[0].startswith(f"speckit/{project.spec_id}/claude-")
    assert f"git merge {branches[0]}" in done.stdout
    assert project.git("show", f"{branches[0]}:calc/ops.py") == RIGHT
    assert len(project.worktrees()) == 1


def test_a_candidate_linking_out_of_its_worktree_is_rejected(project: Project) -> None:
    hostile = implementer("claude", RIGHT) + 'symlinks = { "calc/secrets" = "/etc" }\n'
    project.script(hostile, implementer("gpt_codex", WRONG), reviewer("claude"))
    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)
    assert done.returncode == 3, done.stdout + done.stderr
    by_agent = {c["agent"]: c for c in project.synthesis()["candidates"]}
    assert by_agent["claude"]["status"] == "rejected"
    assert "symlink" in by_agent["claude"]["reason"]
    assert by_agent["claude"]["tests"] is None  # never tested, never applied
    assert (project.root / "calc" / "ops.py").read_text() == BROKEN


def test_deleting_the_test_suite_is_rejected(project: Project) -> None:
    cheat = implementer("claude", RIGHT) + 'delete = ["tests/test_ops.py"]\n'
    project.script(cheat, implementer("gpt_codex", RIGHT), reviewer("claude"))
    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)
    by_agent = {c["agent"]: c for c in project.synthesis()["candidates"]}
    assert by_agent["claude"]["status"] == "rejected", done.stdout
    assert "test" in by_agent["claude"]["reason"]
    assert project.synthesis()["winner"] == "gpt_codex"
    assert (project.root / "tests" / "test_ops.py").exists()


def test_a_test_command_that_is_not_found_is_one_line_and_writes_nothing(
    project: Project,
) -> None:
    toml = (project.root / "speckit.toml").read_text()
    start = toml.index("\ntest_command = [") + 1
    end = toml.index("]", start) + 1
    toml = toml[:start] + 'test_command = ["no-such-test-runner", "-q"]' + toml[end:]
    (project.root / "speckit.toml").write_text(toml)
    project.commit("a test command that does not exist")
    project.script(implementer("claude", RIGHT), implementer("gpt_codex", RIGHT), reviewer())
    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)
    assert done.returncode == 1
    assert "test_command" in done.stderr and "no-such-test-runner" in done.stderr
    assert "Traceback" not in done.stderr
    assert len([ln for ln in done.stderr.splitlines() if "error" in ln]) == 1
    assert not list(project.consensus.glob("spec-implement_*"))
    assert not list((project.root / "evidence").rglob("spec-implement_*"))  # no guardrail either
    assert len(project.worktrees()) == 1


def test_in_other_stages_an_implementer_answers_as_a_proposer(project: Project) -> None:
    project.script(implementer("claude", RIGHT), implementer("gpt_codex", RIGHT), reviewer())
    done = run_speckit("run", "plan", project.spec_id, cwd=project.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(project.worktrees()) == 1
    assert (project.root / "calc" / "ops.py").read_text() == BROKEN
    shown = run_speckit(
        "prompts", "show", "plan", project.spec_id, "--agent", "claude", cwd=project.root
    )
    assert "one of several independent agents" in shown.stdout
    implement = run_speckit(
        "prompts", "show", "implement", project.spec_id, "--agent", "claude", cwd=project.root
    )
    assert "your own copy of the repository" in implement.stdout
    assert "Test command: `" + " ".join(TEST_COMMAND) + "`" in implement.stdout


def test_validate_rejects_red_tests_whatever_the_votes(project: Project) -> None:
    # the base is red and nobody implements: validate's agents approve, the tests say no
    project.script(reviewer())
    done = run_speckit("run", "validate", project.spec_id, cwd=project.root)
    synthesis = project.synthesis("validate")
    assert synthesis["decision"] == "reject", done.stdout
    assert set(synthesis["decisions"].values()) == {"approve"}
    assert any("red test run is a reject" in r for r in synthesis["reasons"])
    # both tests raise NotImplementedError: unittest counts them as errors, failed here
    assert (synthesis["tests"]["passed"], synthesis["tests"]["failed"]) == (0, 2)
    line = next(project.consensus.glob("spec-validate_*_telemetry.jsonl")).read_text()
    quality = json.loads(line.splitlines()[-1])["quality_metrics"]
    assert (quality["automated_checks_passed"], quality["automated_checks_failed"]) == (0, 2)
    assert "tests:" in done.stdout and "FAILED" in done.stdout
    assert len(project.worktrees()) == 1  # validate's worktree is gone too


def test_validate_approves_green_tests_and_says_so(project: Project) -> None:
    (project.root / "calc" / "ops.py").write_text(RIGHT)
    project.commit("fixed by hand")
    project.script(reviewer())
    done = run_speckit("run", "validate", project.spec_id, cwd=project.root)
    assert done.returncode == 0, done.stdout + done.stderr
    synthesis = project.synthesis("validate")
    assert synthesis["decision"] == "approve"
    assert synthesis["tests"]["green"] is True


def test_status_shows_the_candidates(project: Project) -> None:
    project.script(implementer("claude", WRONG), implementer("gpt_codex", RIGHT), reviewer())
    assert run_speckit("run", "implement", project.spec_id, cwd=project.root).returncode == 0
    shown = run_speckit("status", project.spec_id, cwd=project.root)
    assert shown.returncode == 0, shown.stderr
    lines = [ln for ln in shown.stdout.splitlines() if ln.startswith(("claude", "gpt_codex"))]
    assert any("gpt_codex" in ln and "winner" in ln and "2 passed" in ln for ln in lines), lines
    assert any("claude" in ln and "1 failed" in ln and "winner" not in ln for ln in lines), lines


def test_the_tui_shows_the_candidates_and_the_winner(project: Project) -> None:
    import asyncio

    from speckit.tui.app import SpeckitApp
    from tests.tui.helpers import SIZE, run_command

    project.script(implementer("claude", WRONG), implementer("gpt_codex", RIGHT), reviewer())

    async def scenario() -> None:
        app = SpeckitApp(project.workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            cell = await run_command(pilot, f"/spec-implement {project.spec_id}")
            rows = cell.plain.splitlines()
            winner = next(r for r in rows if r.startswith("gpt_codex") and "winner" in r)
            assert "2 passed, 0 failed" in winner and "+1/-1" in winner
            loser = next(r for r in rows if r.startswith("claude") and "failed" in r)
            assert "winner" not in loser
            assert "chosen:" in cell.plain

    asyncio.run(scenario())
    assert (project.root / "calc" / "ops.py").read_text() == RIGHT


def test_a_reviewer_that_would_pass_the_stage_budget_is_not_called(project: Project) -> None:
    toml = (project.root / "speckit.toml").read_text()
    assert "\nwarn_at = 0.8\n" in toml
    toml = toml.replace("\nwarn_at = 0.8\n", "\nstage_usd = 3.0\nwarn_at = 0.8\n", 1)
    (project.root / "speckit.toml").write_text(toml)
    project.commit("a stage budget")
    paid = "cost_usd = 2.0\n"  # each implementer reports $2: $4 spent before the reviewer
    project.script(
        implementer("claude", RIGHT) + paid, implementer("gpt_codex", WRONG) + paid, reviewer()
    )
    head = project.git("rev-parse", "HEAD").strip()

    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)

    assert done.returncode == 3, done.stdout + done.stderr
    synthesis = project.synthesis()
    (reviewer_summary,) = [a for a in synthesis["agents"] if a["agent"] == "gpt_pro"]
    assert reviewer_summary["status"] == "missing"
    assert (
        "stage budget" in reviewer_summary["reason"] and "> cap $3.00" in reviewer_summary["reason"]
    )
    assert synthesis["winner"] == "claude"  # the tests still chose; nothing is applied
    assert project.git("rev-parse", "HEAD").strip() == head
    assert len(project.worktrees()) == 1
