"""implement with implementers: each codes in its own git worktree, the tests decide.

The flow, for one run: a worktree of HEAD per implementer (and one for the base's own
test run, which goes on while the agents work) → the implementers edit their worktree
in parallel → the main working tree is checked untouched → each candidate's change is
captured (patch evidence, safety problems) → the test command runs in every usable
candidate's worktree, in parallel → the reviewer (the stage's aggregator) sees every
diff and test result and may pick one → the winner is chosen in code
(`implement.choose`) → on ok it is applied (one commit, or left on its branch). Every
worktree of the run is removed however the run ends (cancel and signals included); a
run killed outright leaves them to the next run, which prunes them first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speckit.errors import SpeckitError

if TYPE_CHECKING:
    from speckit.agents.request import AgentRequest
    from speckit.agents.result import AgentResult
    from speckit.config import AgentConfig, ImplementConfig
    from speckit.consensus.models import CandidateSummary, MissingAgent, Synthesis, TestsSummary
    from speckit.implement.candidates import CandidateChange
    from speckit.implement.snapshot import TreeSnapshot
    from speckit.implement.testrun import TestRun
    from speckit.implement.worktrees import Worktree
    from speckit.pipeline.budget import BudgetGate
    from speckit.pipeline.stage import StageOptions
    from speckit.workspace import Workspace

logger = logging.getLogger(__name__)
MAX_DIFF_CHARS = 20_000  # of each candidate's patch in the reviewer's prompt
TAIL_LINES = 60  # of a failing test log in a retry prompt
RequestFor = Callable[..., "AgentRequest"]


class MainTreeTouched(SpeckitError):
    """An agent changed the user's working tree instead of its worktree: nothing is applied."""


def uses_worktrees(agents: list[AgentConfig]) -> bool:
    """implement codes in worktrees when at least one of its agents is an implementer."""
    return any(agent.role == "implementer" for agent in agents)


@dataclass
class _Run:
    """Everything one implement run made, so that cleanup knows what to remove."""

    workspace: Workspace
    spec_id: str
    key: str
    repo: Path
    base: str
    exclude: list[Path]
    before: TreeSnapshot
    trees: dict[str, Worktree] = field(default_factory=dict)
    keep_branches: set[str] = field(default_factory=set)
    budget: BudgetGate | None = None  # the stage's budget check: asked again before the reviewer

    @property
    def folder(self) -> Path:
        from speckit.evidence.bundle import consensus_folder

        return consensus_folder(self.workspace.evidence_root, self.spec_id)

    def evidence(self, suffix: str, ext: str) -> Path:
        from speckit.evidence.naming import bundle_file

        return self.folder / bundle_file("spec-implement", self.key, suffix, ext)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.workspace.evidence_root).as_posix()

    def workdir(self, tree: Worktree) -> Path:
        """Where the agent works: the workspace's place inside its worktree."""
        return tree.path / self.workspace.root.resolve().relative_to(self.repo)


def consult_implement(
    workspace: Workspace,
    spec_id: str,
    agents: list[AgentConfig],
    key: str,
    request_for: RequestFor,
    opts: StageOptions,
    budget: BudgetGate | None = None,
) -> tuple[list[AgentResult], Synthesis]:
    """Implementers in worktrees, tests, the reviewer, the winner: results and verdict."""
    from speckit.implement.git import git_toplevel, head_commit
    from speckit.implement.snapshot import snapshot
    from speckit.implement.worktrees import prune_stale, ref_safe, remove_run

    config = workspace.config.implement
    repo = git_toplevel(workspace.root)  # the test command was checked before the guardrail
    pruned = prune_stale(repo, workspace.root)  # left by a run killed outright
    exclude = [workspace.evidence_root, workspace.cache_dir]
    run = _Run(
        workspace=workspace,
        spec_id=spec_id,
        key=key,
        repo=repo,
        base=head_commit(repo),
        exclude=exclude,
        before=snapshot(repo, exclude),
        budget=budget,
    )
    safe_key = ref_safe(key)
    try:
        results, synthesis = _consult(run, agents, safe_key, request_for, opts, config)
    finally:
        remove_run(repo, workspace.root, spec_id, safe_key, keep_branches=run.keep_branches)
    if pruned:
        synthesis.notes.append(
            f"removed {len(pruned)} stale worktree(s) of an earlier run that was killed"
        )
    return results, synthesis


def _consult(
    run: _Run,
    agents: list[AgentConfig],
    safe_key: str,
    request_for: RequestFor,
    opts: StageOptions,
    config: ImplementConfig,
) -> tuple[list[AgentResult], Synthesis]:
    from speckit.agents.runner import run_stage_agents_sync
    from speckit.implement.worktrees import create_worktree

    implementers = [a for a in agents if a.role == "implementer"]
    reviewer = next((a for a in agents if a.role == "aggregator"), None)
    others = [a for a in agents if a.role not in ("implementer", "aggregator")]
    for agent in implementers:
        run.trees[agent.name] = create_worktree(
            run.repo, run.workspace.root, run.spec_id, safe_key, agent.name, run.base
        )
    base_tests = _BaseTests(run, config, safe_key, opts) if config.test_command else None
    retry = previous_failure(run.workspace, run.spec_id)
    requests = [
        request_for(
            agent,
            workdir=run.workdir(run.trees[agent.name]),
            writes=True,
            role="implementer",
            extra={"RETRY": retry},
        )
        for agent in implementers
    ]
    requests += [request_for(agent, writes=False) for agent in others]
    try:
        opts.check_cancelled("before the implementers started")
        results = run_stage_agents_sync(requests, None, opts.on_progress, opts.cancel)
        _check_main_tree(run)
        by_agent = {r.agent: r for r in results}
        changes = {a.name: _capture(run, a.name, by_agent[a.name]) for a in implementers}
        candidates = _candidates(run, implementers, by_agent, changes)
        _test_candidates(run, candidates, config, opts)
    except BaseException:  # cancelled, a signal, an agent in the main tree: stop the base run too
        if base_tests is not None:
            base_tests.stop()
        raise
    base = base_tests.join() if base_tests is not None else None
    results = list(results)
    pick = None
    if reviewer is not None:
        review = _review(run, reviewer, candidates, changes, request_for, opts, results)
        results.append(review)
        pick = _pick_of(review)
    synthesis = _verdict(run, agents, results, candidates, pick, base)
    _apply(run, synthesis, candidates, config)
    return results, synthesis


def _check_main_tree(run: _Run) -> None:
    from speckit.implement.snapshot import changes_since

    changed = changes_since(run.repo, run.before, run.exclude)
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        raise MainTreeTouched(
            f"an agent changed the main working tree during implement ({shown}); implement "
            "stopped and applied nothing: review those changes (git status, git diff) and run "
            "implement again"
        )


def _capture(run: _Run, agent: str, result: AgentResult) -> CandidateChange:
    """The candidate's change, its patch kept as evidence whatever the agent's status."""
    from speckit.fsutil import atomic_write_text
    from speckit.implement.candidates import capture

    change = capture(run.trees[agent])
    if not change.empty:
        path = run.evidence(agent, "patch")
        atomic_write_text(path, change.patch, inside=run.workspace.evidence_root)
    return change


def _candidates(
    run: _Run,
    implementers: list[AgentConfig],
    results: dict[str, AgentResult],
    changes: dict[str, CandidateChange],
) -> list[CandidateSummary]:
    from speckit.consensus.models import CandidateSummary

    candidates = []
    for agent in implementers:
        result, change, tree = results[agent.name], changes[agent.name], run.trees[agent.name]
        status, reason = "ok", None
        if result.status != "ok":
            status, reason = "failed", result.error or result.status
        elif change.empty:
            status, reason = "empty", "changed nothing"
        elif change.problems:
            status, reason = "rejected", "; ".join(change.problems)
        candidates.append(
            CandidateSummary(
                agent=agent.name,
                status=status,
                reason=reason,
                branch=tree.branch,
                files=list(change.files),
                added=change.added,
                removed=change.removed,
                problems=list(change.problems),
                patch=None if change.empty else run.relative(run.evidence(agent.name, "patch")),
            )
        )
    return candidates


def _test_candidates(
    run: _Run, candidates: list[CandidateSummary], config: ImplementConfig, opts: StageOptions
) -> None:
    """The test command in every usable candidate's worktree, in parallel."""
    from speckit.implement.testrun import TestJob, run_tests_sync

    usable = [c for c in candidates if c.status == "ok"]
    if not config.test_command or not usable:
        return
    env = opts.environment()
    jobs = [
        TestJob(
            argv=list(config.test_command),
            cwd=run.workdir(run.trees[c.agent]),
            log_path=run.evidence(f"{c.agent}_tests", "log"),
            timeout=config.test_timeout,
            env=env,
        )
        for c in usable
    ]
    opts.check_cancelled("before the tests")
    logger.info("implement %s: testing %d candidate(s)", run.spec_id, len(jobs))
    for candidate, tests in zip(
        usable, run_tests_sync(jobs, config.parallel_tests, opts.cancel), strict=True
    ):
        candidate.tests = tests_summary(tests, run.workspace.evidence_root)


def tests_summary(tests: TestRun, evidence_root: Path) -> TestsSummary:
    from speckit.consensus.models import TestsSummary

    failed = None
    if tests.failed is not None or tests.errors is not None:
        failed = (tests.failed or 0) + (tests.errors or 0)
    try:
        log: str | None = tests.log_path.relative_to(evidence_root).as_posix()
    except ValueError:
        log = str(tests.log_path)
    return TestsSummary(
        command=list(tests.argv),
        exit_code=tests.exit_code,
        green=tests.green,
        timed_out=tests.timed_out,
        duration_s=round(tests.duration_s, 3),
        passed=tests.passed,
        failed=failed,
        failing=list(tests.failing),
        summary=tests.summary(),
        log=log,
    )


class _BaseTests:
    """The tests on the untouched base, in a thread while the agents work: "already red"
    shows, and it costs no wall time (the agents spend theirs waiting on a model)."""

    def __init__(self, run: _Run, config: ImplementConfig, safe_key: str, opts: StageOptions):
        from speckit.implement.worktrees import create_worktree

        self.run = run
        self.tree = create_worktree(
            run.repo, run.workspace.root, run.spec_id, safe_key, "base", run.base
        )
        run.trees["base"] = self.tree
        self.config, self.env = config, opts.environment()
        self.result: TestRun | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="speckit-base-tests", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        import asyncio

        from speckit.implement.testrun import run_tests

        try:
            self.result = asyncio.run(
                run_tests(
                    list(self.config.test_command),
                    self.run.workdir(self.tree),
                    self.run.evidence("base_tests", "log"),
                    self.config.test_timeout,
                    self.env,
                )
            )
        except BaseException as exc:  # reported by join(); never lost in a thread
            self.error = exc

    def join(self) -> TestsSummary | None:
        """The base run's result, once it ends (it has its own `test_timeout`)."""
        self.thread.join()
        if self.error is not None or self.result is None:
            logger.info("implement: the base test run did not finish: %s", self.error)
            return None
        return tests_summary(self.result, self.run.workspace.evidence_root)

    def stop(self) -> None:
        """The run is ending early: kill every test and agent group still alive (the agents'
        are gone already on this path), so the thread ends before the worktrees go."""
        from speckit.agents.process import kill_all_groups

        if self.thread.is_alive():
            kill_all_groups()
        self.thread.join()


def _review(
    run: _Run,
    reviewer: AgentConfig,
    candidates: list[CandidateSummary],
    changes: dict[str, CandidateChange],
    request_for: RequestFor,
    opts: StageOptions,
    paid: list[AgentResult],
) -> AgentResult:
    """The reviewer sees every candidate's diff and test result; its pick is one rule of
    the choice (after the tests), its checklist the stage's review. A budget cap it would
    pass leaves it uncalled (missing), as for any stage's aggregator."""
    from speckit.agents.result import AgentResult
    from speckit.agents.runner import run_stage_agents_sync

    if not any(c.status == "ok" for c in candidates):
        result = AgentResult(
            agent=reviewer.name,
            driver=reviewer.driver,
            model=reviewer.model,
            role="aggregator",
            status="missing",
            error="not called: no usable candidate to review",
        )
        if opts.on_progress is not None:
            opts.on_progress(reviewer.name, "done", result)
        return result
    request = request_for(
        reviewer,
        writes=False,
        role="reviewer",
        extra={"CANDIDATES": candidates_text(candidates, changes)},
    )
    if run.budget is not None:
        from speckit.pipeline.budget import aggregator_refusal

        refused = aggregator_refusal(
            run.workspace, run.spec_id, "implement", request, paid, run.budget
        )
        if refused is not None:
            if opts.on_progress is not None:
                opts.on_progress(reviewer.name, "done", refused)
            return refused
    opts.check_cancelled("before the reviewer")
    return run_stage_agents_sync([request], None, opts.on_progress, opts.cancel)[0]


def candidates_text(candidates: list[CandidateSummary], changes: dict[str, CandidateChange]) -> str:
    """Each candidate for the reviewer's prompt: status, files, tests and the diff itself."""
    blocks = []
    for candidate in candidates:
        lines = [f"### Candidate {candidate.agent} — {candidate.status}"]
        if candidate.reason:
            lines.append(f"Why: {candidate.reason}")
        lines.append(
            f"Files: {', '.join(candidate.files) or '(none)'} "
            f"(+{candidate.added} -{candidate.removed})"
        )
        if candidate.tests is not None:
            failing = ", ".join(candidate.tests.failing[:10])
            lines.append(
                f"Tests: {candidate.tests.summary}" + (f"; failing: {failing}" if failing else "")
            )
        patch = changes[candidate.agent].patch
        if patch:
            if len(patch) > MAX_DIFF_CHARS:
                patch = (
                    patch[:MAX_DIFF_CHARS] + f"\n… ({len(patch) - MAX_DIFF_CHARS} more characters)"
                )
            lines.append(f"```diff\n{patch.rstrip()}\n```")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "(no candidates)"


def _pick_of(review: AgentResult) -> str | None:
    pick = (review.parsed or {}).get("pick") if review.status == "ok" else None
    return pick.strip() if isinstance(pick, str) and pick.strip() else None


def _verdict(
    run: _Run,
    agents: list[AgentConfig],
    results: list[AgentResult],
    candidates: list[CandidateSummary],
    pick: str | None,
    base: TestsSummary | None,
) -> Synthesis:
    """ok when a candidate passes and every agent did its part; degraded otherwise."""
    from speckit.consensus.synthesis import synthesize
    from speckit.implement.choose import choose_winner, degraded_reasons, file_agreements

    quorum = run.workspace.config.consensus.quorum
    synthesis = synthesize("implement", run.spec_id, [a.name for a in agents], results, quorum)
    choice = choose_winner(candidates, pick)
    reasons = degraded_reasons(candidates)
    implementers = {c.agent for c in candidates}
    others_missing = [m for m in synthesis.missing_agents if m.agent not in implementers]
    reasons += [f"missing: {m}" for m in others_missing]
    if synthesis.conflicts:  # the tests decide; a reported conflict is for the reader
        synthesis.notes += [
            f"reported conflict (not a gate here): {c}" for c in synthesis.conflicts
        ]
    synthesis.status = "degraded" if reasons else "ok"
    synthesis.reasons = reasons or [*choice.reasons]
    synthesis.missing_agents = [
        m for m in synthesis.missing_agents if m.agent not in implementers
    ] + _candidate_missing(candidates)
    agreements, partial, unique = file_agreements(candidates, quorum)
    synthesis.agreements, synthesis.partial, synthesis.unique = agreements, partial, unique
    synthesis.consensus.agreements = [a.text for a in agreements]
    if choice.winner is not None:
        choice.winner.winner = True
        synthesis.winner = choice.winner.agent
    synthesis.winner_reasons = choice.reasons
    synthesis.candidates = candidates
    synthesis.base_tests = base
    if base is not None and not base.green:
        synthesis.notes.append(f"the base was already red before any change: {base.summary}")
    return synthesis


def _candidate_missing(candidates: list[CandidateSummary]) -> list[MissingAgent]:
    from speckit.consensus.models import MissingAgent

    return [
        MissingAgent(agent=c.agent, status=c.status, reason=c.reason or c.status)
        for c in candidates
        if c.status in ("failed", "empty", "rejected")
    ]


def _apply(
    run: _Run, synthesis: Synthesis, candidates: list[CandidateSummary], config: ImplementConfig
) -> None:
    """The winner becomes one commit on the current branch (apply = "commit"), or stays on
    its branch (apply = "branch", or a degraded run that still has a passing candidate)."""
    from speckit.implement.candidates import apply_commit, commit_candidate
    from speckit.implement.snapshot import changes_since

    winner = next((c for c in candidates if c.winner), None)
    if winner is None:
        return
    tree = run.trees[winner.agent]
    sha = commit_candidate(tree, commit_message(run, synthesis, winner))
    merge = f"git merge {tree.branch}"
    if synthesis.status != "ok" or config.apply == "branch":
        run.keep_branches.add(tree.branch)
        synthesis.applied = tree.branch
        why = 'apply = "branch"' if synthesis.status == "ok" else f"the run is {synthesis.status}"
        synthesis.notes.append(
            f"the winner ({winner.agent}) is on branch {tree.branch} ({why}); "
            f"merge it with: {merge}"
        )
        return
    changed = changes_since(run.repo, run.before, run.exclude)
    try:
        if changed:
            raise SpeckitError(
                f"the working tree changed since implement started ({', '.join(changed[:5])})"
            )
        apply_commit(run.repo, sha, run.base)
    except SpeckitError as refused:
        run.keep_branches.add(tree.branch)
        synthesis.status = "degraded"
        synthesis.reasons.append(f"not applied: {refused.message}; merge it yourself: {merge}")
        synthesis.applied = tree.branch
        return
    synthesis.applied = sha
    synthesis.notes.append(f"applied {winner.agent}'s candidate as commit {sha[:12]}")


def commit_message(run: _Run, synthesis: Synthesis, winner: CandidateSummary) -> str:
    tests = winner.tests.summary if winner.tests is not None else "not tested (no test_command)"
    why = "; ".join(synthesis.winner_reasons)
    return (
        f"speckit: implement {run.spec_id} by {winner.agent} ({tests})\n\n"
        f"SPEC: {run.spec_id}\nStage: implement\nAgent: {winner.agent}\nTests: {tests}\n"
        f"Chosen: {why}\nFiles: {', '.join(winner.files)}\n\n"
        f"Speckit-Run: {run.key}\n"
    )


def previous_failure(workspace: Workspace, spec_id: str) -> str:
    """What went wrong last time, for a retry's prompt: the newest implement run when it
    had no passing candidate, and a validate after it that found the tests red."""
    implement = latest_verdict(workspace, spec_id, "implement")
    validate = latest_verdict(workspace, spec_id, "validate")
    parts: list[str] = []
    if implement is not None and implement.get("status") != "ok":
        for candidate in implement.get("candidates") or []:
            who = f"candidate {candidate.get('agent')}"
            parts += _failure_lines(workspace, who, candidate.get("tests"), candidate.get("reason"))
    newer = implement is None or str(validate and validate.get("timestamp")) >= str(
        implement.get("timestamp")
    )
    if validate is not None and newer:
        parts += _failure_lines(workspace, "validate's test run", validate.get("tests"), None)
    if not parts:
        return ""
    return "## Previous attempt\nThe last attempt did not pass. What failed:\n\n" + "\n\n".join(
        parts
    )


def latest_verdict(workspace: Workspace, spec_id: str, stage: str) -> dict[str, Any] | None:
    """The newest synthesis of `stage`, or None (never run, or unreadable: only context)."""
    from speckit.evidence.bundle import latest_synthesis

    try:
        found = latest_synthesis(workspace.evidence_root, spec_id, stage)
    except SpeckitError:  # an unreadable old verdict: no retry context, never an error
        return None
    return found[1] if found is not None else None


def _failure_lines(workspace: Workspace, who: str, tests: object, reason: object) -> list[str]:
    if isinstance(tests, dict) and not tests.get("green"):
        log = tests.get("log")
        tail = evidence_tail(workspace, log, TAIL_LINES) if isinstance(log, str) else ""
        text = f"### {who}: {tests.get('summary')}"
        return [text + (f"\n```\n{tail}\n```" if tail else "")]
    if isinstance(reason, str) and reason:
        return [f"### {who}: {reason}"]
    return []


def read_evidence(workspace: Workspace, relative: str) -> str:
    """An evidence file a synthesis names (relative to the evidence root), or "" when it is
    gone or the name leads outside the evidence root (a synthesis is only data)."""
    root = workspace.evidence_root.resolve()
    path = (workspace.evidence_root / relative).resolve()
    if not path.is_relative_to(root):
        return ""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def evidence_tail(workspace: Workspace, relative: str, lines: int) -> str:
    """The last `lines` lines of an evidence file (a test log), "" when unreadable."""
    return "\n".join(read_evidence(workspace, relative).splitlines()[-lines:])
