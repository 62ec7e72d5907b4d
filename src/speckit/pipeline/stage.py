"""`run_stage`: one stage of one SPEC, from guardrail to telemetry line.

This is the single implementation behind `speckit run`, `speckit auto` and the
TUI; they differ only in how they show progress and results.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from speckit.errors import VERDICT_EXIT, Cancelled, ExitCode, SpeckitError
from speckit.stages import STAGES, Stage, command_name

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.agents.runner import AgentRequest, ProgressCallback
    from speckit.config import AgentConfig, Config
    from speckit.consensus.models import Synthesis
    from speckit.guardrails import GuardrailOutcome
    from speckit.pipeline.budget import BudgetGate
    from speckit.pipeline.bundle import BundlePaths
    from speckit.specs.generated import Written
    from speckit.workspace import Workspace

logger = logging.getLogger(__name__)
WRITING_STAGES: frozenset[str] = frozenset({"implement"})
# Imported while the agents run, so the end of a run does not pay for them.
# "module:function" entries are called once imported (e.g. to load data files).
AFTER_AGENTS = (
    "speckit.agents.pricing:warm_up",
    "speckit.consensus.synthesis",
    "rapidfuzz.process",  # the synthesis imports it lazily, after the agents
    "speckit.pipeline.bundle",
    "speckit.pipeline.documents",  # plan.md / tasks.md from the consensus
    "speckit.telemetry.record",  # and write_bundle these two
    "speckit.evidence.jsonl",
)
PREWARM_JOIN_S = 10.0  # longest wait at exit for an import in progress to finish


class GuardrailFailed(SpeckitError):
    """The stage's guardrail failed; the agents were not run (exit 4)."""

    exit_code = ExitCode.GUARDRAIL_FAILED

    def __init__(self, outcome: GuardrailOutcome, root: Path | None = None) -> None:
        from speckit.workspace import relative

        failed = "; ".join(f"{c.name}: {c.reason}" for c in outcome.failed_checks)
        record = relative(outcome.record_path, root) if root else str(outcome.record_path)
        super().__init__(f"guardrail failed ({failed}); record: {record}")
        self.outcome = outcome


@dataclass
class StageOptions:
    allow_conflict: bool = False
    allow_dirty: bool = False
    skip_guardrail: bool = False
    overwrite: bool = False  # replace a SPEC document a person edited (else: <name>.proposed.md)
    # Explicit overrides for this run only (`--env`, `/set-env`): they beat the agent's own
    # `env` in speckit.toml, which beats the inherited environment (`agents.env`).
    env: Mapping[str, str] = field(default_factory=dict)
    on_progress: ProgressCallback | None = None
    prewarm: tuple[str, ...] = ()  # modules the caller needs afterwards (e.g. rich)
    cancel: threading.Event | None = None  # set from any thread to stop the run (exit 130)
    commit: bool | None = None  # commit the run's documents and evidence; None: [pipeline].commit
    cache: bool = True  # reuse identical earlier answers (`--no-cache`: False); [cache] enabled

    def cache_dir(self, workspace: Workspace) -> Path | None:
        """The answer cache's folder for this run's agents, or None when it is off."""
        if not (self.cache and workspace.config.cache.enabled):
            return None
        return workspace.cache_dir / "cache"

    def environment(self) -> dict[str, str]:
        """What speckit itself reads (guardrail and telemetry switches): inherited < overrides."""
        from speckit.agents.env import layered_env

        return layered_env(overrides=self.env)

    def check_cancelled(self, where: str) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled(f"cancelled {where}")


@dataclass
class StageRun:
    spec_id: str
    stage: Stage
    timestamp: str
    session_id: str
    prompt_version: str
    results: list[AgentResult]
    synthesis: Synthesis
    bundle: BundlePaths
    guardrail: GuardrailOutcome | None
    notes: list[str]
    documents: list[Written] = field(default_factory=list)  # plan.md, tasks.md (or proposals)

    @property
    def status(self) -> str:
        return str(self.synthesis.status)

    @property
    def files(self) -> list[Path]:
        """The files worth opening after a run: the synthesis, then telemetry if written."""
        paths = [Path(self.bundle.synthesis)]
        if self.bundle.telemetry is not None:
            paths.append(Path(self.bundle.telemetry))
        return paths

    def exit_code(self, allow_conflict: bool = False) -> ExitCode:
        if self.status == "conflict" and allow_conflict:
            return ExitCode.OK
        return VERDICT_EXIT.get(self.status, ExitCode.ERROR)


def _earlier_stage_notes(workspace: Workspace, spec_id: str, stage: Stage) -> list[str]:
    from speckit.evidence.bundle import latest_synthesis

    notes = []
    for earlier in STAGES[: STAGES.index(stage)]:
        try:
            found = latest_synthesis(workspace.evidence_root, spec_id, earlier)
        except SpeckitError as exc:  # a corrupt old verdict must not stop a new run
            notes.append(f"{earlier}: newest verdict unreadable ({exc.message})")
            continue
        if found is None:
            notes.append(f"{earlier} has not run for {spec_id}")
    return notes


def _request(
    workspace: Workspace,
    agent: AgentConfig,
    prompt: str,
    stage: Stage,
    raw_dir: Path,
    prefix: str,
    env: Mapping[str, str],
    workdir: Path | None = None,
    writes: bool | None = None,
) -> AgentRequest:
    from speckit.agents.runner import AgentRequest
    from speckit.answers.schemas import stage_schema

    return AgentRequest(
        agent=agent,
        prompt=prompt,
        workdir=workdir or workspace.root,
        raw_output_path=raw_dir / f"{prefix}_{agent.name}_raw.txt",
        stage=stage,
        schema=stage_schema(stage),
        writes=stage in WRITING_STAGES if writes is None else writes,
        env=env,
        root=workspace.root,
    )


def _stage_agents(workspace: Workspace, stage: Stage) -> list[AgentConfig]:
    agents = workspace.config.stage_agents(stage)
    if not agents:
        raise SpeckitError(
            f"no enabled agents for the {stage} stage; enable agents in speckit.toml "
            f"([agents.NAME] enabled = true) and list them in [stages.{stage}]"
        )
    return agents


def run_stage(
    workspace: Workspace, spec_id: str, stage: Stage, options: StageOptions | None = None
) -> StageRun:
    """Guardrail, agents, synthesis and evidence for one stage; raises GuardrailFailed (4)."""
    from speckit.pipeline.locks import stage_run_lock

    opts = options or StageOptions()
    with stage_run_lock(workspace.cache_dir, spec_id, stage):
        return _run_locked(workspace, spec_id, stage, opts)


def _run_locked(workspace: Workspace, spec_id: str, stage: Stage, opts: StageOptions) -> StageRun:
    from speckit.evidence.bundle import clear_stale_claims, release_run, reserve_run
    from speckit.evidence.naming import new_session_id, utc_timestamp
    from speckit.pipeline.bundle import write_bundle
    from speckit.pipeline.tracking import track_verdict
    from speckit.prompts.render import prompt_version
    from speckit.telemetry import telemetry_enabled

    config = workspace.config
    agents = _stage_agents(workspace, stage)
    telemetry_on = telemetry_enabled(config.telemetry.enabled, opts.environment())  # fail early
    if stage in ("implement", "validate") and config.implement.test_command:
        from speckit.implement.testrun import check_test_command

        check_test_command(config.implement.test_command, workspace.root, opts.environment())
    timestamp = utc_timestamp()
    session_id = new_session_id(timestamp)
    opts.check_cancelled("before the guardrail")
    budget = _budget(workspace, spec_id, stage, agents, opts)  # None: no [budget] cap set
    guardrail = None
    if not opts.skip_guardrail:
        guardrail = _guardrail(workspace, spec_id, stage, session_id, opts, budget)
    notes = _earlier_stage_notes(workspace, spec_id, stage)
    # The run key is the timestamp, or timestamp-N when a run of this stage already used
    # that second; raw outputs take the same key so they never overwrite another run's.
    clear_stale_claims(workspace.evidence_root, spec_id, stage)  # we hold the stage lock
    key = reserve_run(workspace.evidence_root, spec_id, stage, timestamp, session_id)
    try:
        results, synthesis = _consult(workspace, spec_id, stage, agents, key, opts, budget)
        bundle = write_bundle(
            workspace.evidence_root,
            spec_id,
            stage,
            timestamp,
            session_id,
            prompt_version(stage),
            results,
            synthesis,
            guardrail.record if guardrail else None,
            telemetry_on,
        )
    except BaseException:  # cancelled or crashed: free the run key, write nothing
        release_run(workspace.evidence_root, spec_id, stage, key)
        raise
    notes += budget.notes if budget else []

    from speckit.consensus.synthesis import substitution_notes  # prewarmed meanwhile

    notes += substitution_notes(synthesis.agents)  # fallbacks that answered in a slot
    notes += track_verdict(workspace, spec_id, stage, synthesis, timestamp)  # SPEC.md's row
    run = StageRun(
        spec_id=spec_id,
        stage=stage,
        timestamp=timestamp,
        session_id=session_id,
        prompt_version=prompt_version(stage),
        results=results,
        synthesis=synthesis,
        bundle=bundle,
        guardrail=guardrail,
        notes=notes,
    )
    from speckit.pipeline.documents import write_run_documents  # prewarmed meanwhile

    run.documents = write_run_documents(workspace, run, opts.overwrite)
    if opts.commit if opts.commit is not None else config.pipeline.commit:  # last: all written
        from speckit.pipeline.commit import commit_stage

        run.notes.append(commit_stage(workspace, run).note)
    return run


def _consult(
    workspace: Workspace,
    spec_id: str,
    stage: Stage,
    agents: list[AgentConfig],
    key: str,
    opts: StageOptions,
    budget: BudgetGate | None = None,
) -> tuple[list[AgentResult], Synthesis]:
    """Proposers in parallel, then the aggregator, then the verdict (and the arbiter).

    implement with implementers codes in worktrees instead (`pipeline.implement`); validate
    with a test command runs it first and judges its result with the agents' votes."""
    from speckit.agents.runner import run_stage_agents_sync
    from speckit.prompts.context import build_context
    from speckit.prompts.render import render_prompt

    prefix = f"{command_name(stage)}_{key}"
    raw_dir = workspace.evidence_root / "consensus" / spec_id
    context = build_context(workspace, spec_id)
    evidence = ""
    tests = None
    if stage == "validate" and workspace.config.implement.test_command:
        from speckit.pipeline.validate_tests import evidence_text, validate_tests

        tests = validate_tests(workspace, spec_id, key, opts)
        evidence = evidence_text(workspace, spec_id, tests)

    def request_for(
        agent: AgentConfig,
        proposals: list[AgentResult] | None = None,
        *,
        workdir: Path | None = None,
        writes: bool | None = None,
        role: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> AgentRequest:
        prompt = render_prompt(
            workspace,
            spec_id,
            stage,
            agent,
            role=role,
            proposals=proposals,
            context=context,
            extra={"EVIDENCE": evidence, **(extra or {})},
        ).text
        request = _request(
            workspace, agent, prompt, stage, raw_dir, prefix, opts.env, workdir, writes
        )
        request.cache_dir = opts.cache_dir(workspace)  # None: --no-cache or [cache] off
        return request

    if stage == "implement":
        from speckit.pipeline.implement import consult_implement, uses_worktrees

        if uses_worktrees(agents):
            _prewarm((*AFTER_AGENTS, *opts.prewarm))
            results, synthesis = consult_implement(
                workspace, spec_id, agents, key, request_for, opts, budget
            )
            synthesis.notes.extend(budget.notes if budget else [])
            return results, synthesis

    aggregator = next((a for a in agents if a.role == "aggregator"), None)
    proposers = [a for a in agents if a.role != "aggregator"]
    not_called: list[AgentResult] = []  # the aggregator, when there was nothing to aggregate
    proposals: list[AgentResult] = []  # what the aggregator (or its fallback) is shown
    taken = {a.name for a in agents}  # an agent answers once per stage, in one slot

    def fallback_for(failed: AgentResult) -> AgentRequest | None:
        stand_in, why_not = _fallback_agent(workspace.config, failed, taken)
        if why_not is not None:  # the verdict shows this line for the agent left out
            failed.error = f"{failed.error or failed.status}; {why_not}"
        if stand_in is None:
            return None
        shown = proposals if failed.role == "aggregator" else None
        return request_for(stand_in, shown, role=failed.role)

    def make_aggregator(results: list[AgentResult]) -> AgentRequest | None:
        if aggregator is None:
            return None
        skipped = _skipped_aggregator(aggregator, stage, results)
        if skipped is None:
            from speckit.pipeline.budget import aggregator_refusal

            request = request_for(aggregator, results)
            skipped = aggregator_refusal(workspace, spec_id, stage, request, results, budget)
            if skipped is None:
                proposals.extend(results)
                return request
        not_called.append(skipped)
        if opts.on_progress is not None:
            opts.on_progress(aggregator.name, "done", skipped)
        return None

    consensus = workspace.config.consensus
    tiers = None
    if consensus.mode == "escalate":  # priced here, before the prewarm thread imports prices
        from speckit.pipeline.escalation import first_tier

        tiers = first_tier(workspace.config, stage, proposers)
    requests = [request_for(a) for a in proposers] if tiers is None else []
    ready = _prewarm((*AFTER_AGENTS, *opts.prewarm))
    opts.check_cancelled("before the agents started")
    logger.info("%s %s: %d agent(s), raw outputs in %s", stage, spec_id, len(agents), raw_dir)
    outcome = None
    if tiers is not None:  # the first tier, and the panel only if it disagrees
        from speckit.pipeline.escalation import consult_tiers

        outcome = consult_tiers(
            workspace.config,
            stage,
            spec_id,
            tiers,
            request_for,
            make_aggregator,
            opts,
            ready,
            fallback_for,
        )
        results = outcome.results
    else:
        results = run_stage_agents_sync(
            requests, make_aggregator, opts.on_progress, opts.cancel, fallback_for
        )
    results = [*results, *not_called]
    ready()
    from speckit.consensus.synthesis import synthesize  # imported by _prewarm meanwhile

    expected = [a.name for a in agents if outcome is None or a.name not in outcome.not_called]
    synthesis = synthesize(
        stage, spec_id, expected, results, consensus.quorum, consensus.min_agreement
    )
    if outcome is not None:
        outcome.record(synthesis)
    logger.info("%s %s: consensus %s", stage, spec_id, synthesis.status)
    synthesis.notes.extend(budget.notes if budget else [])  # kept in synthesis and telemetry
    if synthesis.status == "conflict" and workspace.config.consensus.arbiter:
        synthesis, ruling = _arbitrate(
            workspace, spec_id, stage, synthesis, results, raw_dir, prefix, context, opts
        )
        results = [*results, ruling]  # its answer, tokens and cost are evidence too
    if tests is not None:  # last: no vote and no ruling turns red tests into an approve
        from speckit.pipeline.validate_tests import judge_with_tests

        judge_with_tests(synthesis, tests)
    return results, synthesis


def _fallback_agent(
    config: Config, failed: AgentResult, taken: set[str]
) -> tuple[AgentConfig | None, str | None]:
    """The agent that answers in `failed`'s place (its `fallback`), now taken; or None and
    why not, when that agent is disabled or already answers in this stage (one agent, one
    vote: a fallback that is also a proposer would count twice)."""
    own = config.agents.get(failed.agent)
    name = own.fallback if own is not None else None
    if name is None:
        return None, None
    stand_in = config.agents[name]
    if not stand_in.enabled:
        return None, f"its fallback {name} is disabled"
    if name in taken:
        return None, f"its fallback {name} already answers in this stage"
    taken.add(name)
    return stand_in, None


def _skipped_aggregator(
    aggregator: AgentConfig, stage: Stage, proposals: list[AgentResult]
) -> AgentResult | None:
    """The aggregator's result when it is not worth calling (no valid proposal to merge: it
    would wait a full timeout and be paid to read "(no answer)"); None when it must run."""
    from speckit.agents.result import AgentResult
    from speckit.consensus.synthesis import valid_answer

    if any(valid_answer(stage, proposal) for proposal in proposals):
        return None
    return AgentResult(
        agent=aggregator.name,
        driver=aggregator.driver,
        model=aggregator.model,
        role="aggregator",
        status="missing",
        error="not called: no proposer gave a valid answer, so there was nothing to aggregate",
    )


def _prewarm(targets: tuple[str, ...]) -> Callable[[], None]:
    """Import (and warm up) `targets` in a daemon thread: agents spend their time waiting
    on I/O, so this work overlaps with that wait instead of adding to the run's wall time.

    At exit the thread is told to stop and joined (bounded): interpreter shutdown
    freezes a daemon thread wherever it is, and one frozen inside an import holds
    that module's lock, and an exit that imports it then would hang forever.

    Returns `ready`: call it before importing what the thread imports. Two threads importing
    rapidfuzz at once can hand one of them the half-initialised `rapidfuzz.process`
    ("partially initialized module"), e.g. when fast agents answer mid-prewarm; waiting
    costs nothing, since the caller needs those modules then anyway."""
    import atexit
    import importlib
    import threading

    stop = threading.Event()

    def load() -> None:
        for target in targets:
            if stop.is_set():
                return
            module_name, _, function = target.partition(":")
            try:
                module = importlib.import_module(module_name)
                if function:
                    getattr(module, function)()
            except Exception:  # only a head start: the real use later reports any problem
                logger.debug("prewarming %s failed", target, exc_info=True)
                continue

    def finish() -> None:
        stop.set()
        thread.join(PREWARM_JOIN_S)

    thread = threading.Thread(target=load, name="speckit-prewarm", daemon=True)
    thread.start()
    atexit.register(finish)
    return lambda: thread.join(PREWARM_JOIN_S)


def _budget(
    workspace: Workspace, spec_id: str, stage: Stage, agents: list[AgentConfig], opts: StageOptions
) -> BudgetGate | None:
    """The run's `budget` check (before any agent, the policy agents too); without a guardrail
    to record it, a refusal is raised here (exit 4) and a warning becomes a note."""
    if not workspace.config.budget.caps:
        return None
    from speckit.pipeline.budget import BudgetExceeded, check_before_stage

    gate = check_before_stage(workspace, spec_id, stage, agents, recorded=not opts.skip_guardrail)
    if gate is not None and gate.blocks and opts.skip_guardrail:
        raise BudgetExceeded(gate.check.reason)
    return gate


def _guardrail(
    workspace: Workspace,
    spec_id: str,
    stage: Stage,
    session_id: str,
    opts: StageOptions,
    budget: BudgetGate | None = None,
) -> GuardrailOutcome:
    from speckit.guardrails import run_guardrail
    from speckit.guardrails.policy import NotAsked
    from speckit.pipeline.policy import policy_asker

    refused = budget is not None and budget.blocks  # no policy agent is paid for a refused run
    outcome = run_guardrail(
        workspace,
        spec_id,
        stage,
        session_id,
        allow_dirty=opts.allow_dirty,
        env=opts.environment(),
        policy_ask=NotAsked("the budget check failed")
        if refused
        else policy_asker(workspace, spec_id, stage, opts.env, opts.cancel),
        checks=[budget.check] if budget is not None else [],
    )
    if not outcome.passed:
        raise GuardrailFailed(outcome, workspace.root)  # paths as the user sees them
    return outcome


def _arbitrate(
    workspace: Workspace,
    spec_id: str,
    stage: Stage,
    synthesis: Synthesis,
    results: list[AgentResult],
    raw_dir: Path,
    prefix: str,
    context: str,
    opts: StageOptions,
) -> tuple[Synthesis, AgentResult]:
    from speckit.agents.runner import run_stage_agents_sync
    from speckit.answers.schemas import arbiter_schema
    from speckit.consensus.arbiter import apply_arbiter
    from speckit.prompts.render import render_prompt

    arbiter = workspace.config.agents[str(workspace.config.consensus.arbiter)]
    prompt = render_prompt(
        workspace,
        spec_id,
        stage,
        arbiter,
        role="arbiter",
        proposals=results,
        conflicts=list(synthesis.conflicts),
        context=context,
    ).text
    request = _request(workspace, arbiter, prompt, stage, raw_dir, f"{prefix}_arbiter", opts.env)
    request.cache_dir = opts.cache_dir(workspace)
    request.schema = arbiter_schema(stage)  # its ruling's keys, which the stage schema lacks
    opts.check_cancelled("before the arbiter")
    ruling = run_stage_agents_sync([request], None, opts.on_progress, opts.cancel)[0]
    ruling.role = "arbiter"  # whatever its configured role: evidence and rejudge tell it apart
    if any(result.agent == arbiter.name for result in results):  # also a voter in this stage:
        ruling.agent = f"{arbiter.name}.arbiter"  # its ruling must not overwrite its answer
    return apply_arbiter(synthesis, ruling), ruling
