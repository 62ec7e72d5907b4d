"""validate judges evidence: the test command on the applied tree, and the change itself.

The tests run in a fresh worktree of HEAD (what implement applied), never in the user's
working tree, so a test run cannot leave caches or files behind that dirty it. The result
goes into every validate prompt, into the synthesis and the telemetry line; a red run is a
reject whatever the agents voted, and the synthesis says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from speckit.consensus.models import Synthesis, TestsSummary
    from speckit.pipeline.stage import StageOptions
    from speckit.workspace import Workspace

MAX_PATCH_CHARS = 30_000
TAIL_LINES = 40


def validate_tests(
    workspace: Workspace, spec_id: str, key: str, opts: StageOptions
) -> TestsSummary:
    """Run `[implement] test_command` on HEAD, in a worktree removed afterwards."""
    from speckit.evidence.bundle import consensus_folder
    from speckit.evidence.naming import bundle_file
    from speckit.implement.git import git_toplevel, head_commit
    from speckit.implement.testrun import TestJob, run_tests_sync
    from speckit.implement.worktrees import create_worktree, ref_safe, remove_worktree
    from speckit.pipeline.implement import tests_summary

    config = workspace.config.implement
    env = opts.environment()
    repo = git_toplevel(workspace.root)
    tree = create_worktree(
        repo, workspace.root, spec_id, ref_safe(key), "validate", head_commit(repo)
    )
    log = consensus_folder(workspace.evidence_root, spec_id) / bundle_file(
        "spec-validate", key, "tests", "log"
    )
    try:
        workdir = tree.path / workspace.root.resolve().relative_to(repo)
        job = TestJob(
            argv=list(config.test_command),
            cwd=workdir,
            log_path=log,
            timeout=config.test_timeout,
            env=env,
        )
        opts.check_cancelled("before validate's tests")
        run = run_tests_sync([job], 1, opts.cancel)[0]
    finally:
        remove_worktree(tree)
    return tests_summary(run, workspace.evidence_root)


def evidence_text(workspace: Workspace, spec_id: str, tests: TestsSummary) -> str:
    """The EVIDENCE block of validate's prompts: the test run, then the applied change."""
    import shlex

    from speckit.pipeline.implement import evidence_tail

    lines = [
        "## Evidence: the tests on the applied tree",
        f"`{shlex.join(tests.command)}` → {'PASSED' if tests.green else 'FAILED'}: {tests.summary}",
    ]
    if tests.failing:
        lines.append("Failing: " + ", ".join(tests.failing[:20]))
    tail = evidence_tail(workspace, tests.log, TAIL_LINES) if tests.log else ""
    if tail and not tests.green:
        lines.append(f"```\n{tail}\n```")
    patch = _applied_patch(workspace, spec_id)
    if patch:
        lines += ["", "## Evidence: the change implement applied", f"```diff\n{patch}\n```"]
    return "\n".join(lines) + "\n\n"


def judge_with_tests(synthesis: Synthesis, tests: TestsSummary) -> None:
    """Record the run; a red one makes the decision a reject, whatever the votes."""
    synthesis.tests = tests
    if tests.green:
        synthesis.reasons.append(f"the tests pass on the applied tree: {tests.summary}")
        return
    voted = synthesis.decision
    synthesis.decision = "reject"
    synthesis.reasons.append(
        f"the tests fail on the applied tree ({tests.summary}): a red test run is a reject"
        + (f"; the agents' {voted} is overruled" if voted and voted != "reject" else "")
    )


def _applied_patch(workspace: Workspace, spec_id: str) -> str:
    """The winner's patch of the newest ok implement run, as the reviewers read it."""
    from speckit.pipeline.implement import latest_verdict, read_evidence

    found = latest_verdict(workspace, spec_id, "implement")
    candidates = found.get("candidates") if found is not None else None
    winner = next((c for c in candidates or [] if isinstance(c, dict) and c.get("winner")), None)
    patch = winner.get("patch") if winner is not None else None
    text = read_evidence(workspace, patch) if isinstance(patch, str) else ""
    if len(text) > MAX_PATCH_CHARS:
        text = text[:MAX_PATCH_CHARS] + f"\n… ({len(text) - MAX_PATCH_CHARS} more characters)"
    return text.rstrip()
