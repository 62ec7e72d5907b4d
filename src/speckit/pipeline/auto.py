"""`run_auto`: the stages in order, halting on conflict, degraded or a failed guardrail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speckit.errors import Cancelled, ExitCode, SpeckitError
from speckit.pipeline.stage import GuardrailFailed, StageOptions, StageRun, run_stage
from speckit.pipeline.state import write_state
from speckit.stages import Stage, with_stage

if TYPE_CHECKING:
    from speckit.guardrails import GuardrailOutcome
    from speckit.pipeline.next_steps import NextSteps
    from speckit.workspace import Workspace


@dataclass
class AutoOptions:
    from_stage: Stage | None = None
    skip_consensus: bool = False
    allow_conflict: bool = False
    allow_degraded: bool = False
    stage: StageOptions = field(default_factory=StageOptions)
    on_stage: Callable[[Stage, int], None] | None = None  # (stage, attempt) before each stage
    on_result: Callable[[StageRun], None] | None = None


@dataclass
class AutoOutcome:
    spec_id: str
    runs: list[StageRun] = field(default_factory=list)
    guardrails: list[GuardrailOutcome] = field(default_factory=list)
    halted_at: Stage | None = None
    reason: str = ""
    exit_code: ExitCode = ExitCode.OK
    resume_command: str = ""
    read_files: list[Path] = field(default_factory=list)
    start: Stage | None = None
    current: Stage | None = None  # the stage running now (or when the run ended)
    notes: list[str] = field(default_factory=list)  # e.g. why SPEC.md was not updated
    next_steps: NextSteps | None = None  # after a halt: what to edit, which override

    @property
    def halted(self) -> bool:
        return self.halted_at is not None


def latest_verdict(
    workspace: Workspace, spec_id: str, stage: Stage
) -> tuple[str, str | None] | None:
    """(status, decision) of the newest run of a stage, or None; a human override wins."""
    from speckit.evidence.bundle import latest_synthesis

    found = latest_synthesis(workspace.evidence_root, spec_id, stage)
    if found is None:
        return None
    data = found[1]
    override = data.get("override")
    if isinstance(override, dict) and override.get("verdict"):
        return str(override["verdict"]), None  # a person decided: the decision is theirs
    decision = data.get("decision")
    return str(data.get("status")), str(decision) if decision else None


def first_incomplete(workspace: Workspace, spec_id: str, stages: list[Stage]) -> Stage | None:
    """The first stage whose newest verdict is not ok, or whose agents rejected."""
    for stage in stages:
        verdict = latest_verdict(workspace, spec_id, stage)
        if verdict is None or verdict[0] != "ok" or verdict[1] == REJECT:
            return stage
    return None


def _decision(run: StageRun) -> str | None:
    decision = getattr(run.synthesis, "decision", None)
    return str(decision) if decision else None


REJECT = "reject"
SKIPPED_POLICY = "--skip-consensus: no agent is called"


class _Halt(Exception):
    """`kind` (conflict, degraded, reject, implement, guardrail) and the failed guardrail
    `checks` decide the advice (`pipeline.next_steps`)."""

    def __init__(
        self,
        stage: Stage,
        reason: str,
        code: ExitCode,
        files: list[Path],
        kind: str,
        checks: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason)
        self.stage, self.reason, self.code, self.files = stage, reason, code, files
        self.kind, self.checks = kind, checks


def resume_flags(opts: AutoOptions) -> str:
    """The run's own flags, so the resume command runs the way the halted run did."""
    flags = [
        ("--skip-consensus", opts.skip_consensus),
        ("--allow-conflict", opts.allow_conflict),
        ("--allow-degraded", opts.allow_degraded),
        ("--allow-dirty", opts.stage.allow_dirty),
        ("--no-cache", not opts.stage.cache),
        ("--overwrite", opts.stage.overwrite),
        ("--commit", opts.stage.commit is True),
        ("--no-commit", opts.stage.commit is False),
    ]
    return "".join(f" {flag}" for flag, given in flags if given)


def run_auto(workspace: Workspace, spec_id: str, options: AutoOptions | None = None) -> AutoOutcome:
    """Run guardrail + consensus stage by stage from `from_stage` (default: first not ok).

    A second auto of the same SPEC is refused before it writes anything (RunBusy, exit 1).
    """
    from speckit.pipeline.locks import auto_run_lock
    from speckit.telemetry.workflow import auto_run

    workspace.check_writable(spec_id)  # a symlinked evidence folder: refused, nothing written
    with auto_run_lock(workspace.cache_dir, spec_id), auto_run(spec_id):  # lines say which auto
        return _run_auto_locked(workspace, spec_id, options or AutoOptions())


def _run_auto_locked(workspace: Workspace, spec_id: str, opts: AutoOptions) -> AutoOutcome:
    from speckit.pipeline.locks import RunBusy
    from speckit.pipeline.state import read_state, restore_state

    stages: list[Stage] = list(workspace.config.pipeline.stages)
    if opts.from_stage is not None:  # `--from specify` runs the optional stage too
        stages = with_stage(stages, opts.from_stage)
    start = opts.from_stage or first_incomplete(workspace, spec_id, stages)
    outcome = AutoOutcome(spec_id=spec_id, start=start)
    if start is None:
        outcome.reason = "every stage already ok; use --from STAGE to run again"
        return outcome
    if start not in stages:
        raise SpeckitError(f"stage {start} is not in [pipeline].stages of speckit.toml")
    previous = read_state(workspace.evidence_root, spec_id)
    write_state(workspace.evidence_root, spec_id, status="running", stage=start)
    try:
        _loop(workspace, spec_id, stages, stages.index(start), opts, outcome)
    except RunBusy:
        if not outcome.runs and not outcome.guardrails:  # refused before doing anything
            restore_state(workspace.evidence_root, spec_id, previous)
        raise
    except (Cancelled, KeyboardInterrupt):
        # Recorded so `status` does not show a run that is no longer there as running.
        stage = outcome.current or start
        write_state(
            workspace.evidence_root,
            spec_id,
            status="cancelled",
            stage=stage,
            resume=f"speckit auto {spec_id}",
        )
        raise
    except _Halt as halt:
        outcome.halted_at, outcome.reason, outcome.exit_code = halt.stage, halt.reason, halt.code
        outcome.read_files = halt.files
        outcome.notes = _track_halt(workspace, outcome, halt)
        outcome.resume_command = f"speckit auto {spec_id} --from {halt.stage}{resume_flags(opts)}"
        inputs = _advise(workspace, outcome, halt, previous)
        write_state(
            workspace.evidence_root,
            spec_id,
            status="halted",
            stage=halt.stage,
            reason=halt.reason,
            exit_code=int(halt.code),
            resume=outcome.resume_command,
            files=[str(p) for p in halt.files],
            inputs=inputs,
        )
        return outcome
    write_state(workspace.evidence_root, spec_id, status="completed", stage=stages[-1])
    return outcome


def _advise(
    workspace: Workspace, outcome: AutoOutcome, halt: _Halt, previous: dict[str, Any] | None
) -> str | None:
    """Set the halt's next steps; the hash of the stage's inputs, recorded with the halt."""
    from speckit.pipeline.next_steps import NextSteps, short_reference, stage_inputs_digest

    inputs = stage_inputs_digest(workspace, outcome.spec_id, halt.stage)
    unchanged = (
        inputs is not None
        and previous is not None
        and previous.get("status") == "halted"
        and previous.get("stage") == halt.stage
        and previous.get("inputs") == inputs
    )
    outcome.next_steps = NextSteps(
        outcome.spec_id,
        halt.stage,
        halt.kind,
        outcome.resume_command,
        halt.checks,
        unchanged,
        short_reference(workspace, outcome.spec_id),
    )
    return inputs


def _track_halt(workspace: Workspace, outcome: AutoOutcome, halt: _Halt) -> list[str]:
    """Block SPEC.md's row at the halted stage; the notes its run did not already show."""
    from speckit.pipeline.tracking import track_halt

    notes = track_halt(workspace, outcome.spec_id, halt.stage, halt.code)
    shown = outcome.runs[-1].notes if outcome.runs and outcome.runs[-1].stage == halt.stage else []
    return [note for note in notes if note not in shown]


def _loop(
    workspace: Workspace,
    spec_id: str,
    stages: list[Stage],
    index: int,
    opts: AutoOptions,
    outcome: AutoOutcome,
) -> None:
    retries_left = workspace.config.pipeline.validate_retries
    attempt = 1
    while index < len(stages):
        stage = stages[index]
        outcome.current = stage
        opts.stage.check_cancelled(f"before {stage}")
        write_state(workspace.evidence_root, spec_id, status="running", stage=stage)
        if opts.on_stage:
            opts.on_stage(stage, attempt)
        if opts.skip_consensus:
            outcome.guardrails.append(_guardrail_only(workspace, spec_id, stage, opts))
            index += 1
            continue
        try:
            run = run_stage(workspace, spec_id, stage, opts.stage)
        except GuardrailFailed as failed:  # the record is in read_files, not in the reason
            checks = failed.outcome.failed_checks
            raise _Halt(
                stage,
                "guardrail failed: " + "; ".join(f"{c.name}: {c.reason}" for c in checks),
                ExitCode.GUARDRAIL_FAILED,
                [failed.outcome.record_path],
                "guardrail",
                tuple(c.name for c in failed.outcome.failed_checks),
            ) from None
        outcome.runs.append(run)
        if opts.on_result:
            opts.on_result(run)
        if _implement_retry(run, opts):  # no candidate passed: try again, told what failed
            if retries_left == 0:
                raise _Halt(
                    stage,
                    "implement is degraded and no retries are left: "
                    + "; ".join(run.synthesis.reasons[:3]),
                    ExitCode.DEGRADED,
                    run.files,
                    "implement",
                )
            retries_left -= 1
            attempt += 1
            continue
        _gate(run, opts)
        if stage != "validate" and _decision(run) == REJECT:
            raise _Halt(
                stage,
                f"the agents reject at {stage}: {_reasons(run)}",
                ExitCode.ERROR,
                run.files,
                "reject",
            )
        if stage == "validate" and _decision(run) == REJECT:
            if retries_left == 0 or "implement" not in stages:
                raise _Halt(
                    stage,
                    "validate rejected the implementation and no retries are left",
                    ExitCode.ERROR,
                    run.files,
                    "reject",
                )
            retries_left -= 1
            attempt += 1
            index = stages.index("implement")
            continue
        index += 1


def _implement_retry(run: StageRun, opts: AutoOptions) -> bool:
    """A degraded implement that coded in worktrees is retried (with its failure in the
    prompt), sharing `[pipeline].validate_retries` with validate's rejects."""
    return (
        run.stage == "implement"
        and run.status == "degraded"
        and bool(run.synthesis.candidates)
        and not opts.allow_degraded
    )


def _reasons(run: StageRun) -> str:
    """Why the agents rejected, from their answers' reasons/conditions when they gave any."""
    synthesis = run.synthesis
    why = [a.text for a in synthesis.agreements] + [u.text for u in synthesis.unique]
    return "; ".join(why[:3]) or "see the synthesis"


def _gate(run: StageRun, opts: AutoOptions) -> None:
    synthesis = run.synthesis
    if run.status == "conflict" and not opts.allow_conflict:
        detail = "; ".join(synthesis.conflicts) or "categorical answers differ"
        raise _Halt(run.stage, f"conflict: {detail}", ExitCode.CONFLICT, run.files, "conflict")
    if run.status == "degraded" and not opts.allow_degraded:
        missing = ", ".join(f"{m.agent} ({m.reason})" for m in synthesis.missing_agents)
        raise _Halt(
            run.stage, f"degraded: missing {missing}", ExitCode.DEGRADED, run.files, "degraded"
        )


def _guardrail_only(
    workspace: Workspace, spec_id: str, stage: Stage, opts: AutoOptions
) -> GuardrailOutcome:
    from speckit.evidence.naming import new_session_id, utc_timestamp
    from speckit.guardrails import run_guardrail
    from speckit.guardrails.policy import NotAsked

    outcome = run_guardrail(
        workspace,
        spec_id,
        stage,
        new_session_id(utc_timestamp()),
        allow_dirty=opts.stage.allow_dirty,
        env=opts.stage.environment(),
        policy_ask=NotAsked(SKIPPED_POLICY),
    )
    if not outcome.passed:
        failed = "; ".join(f"{c.name}: {c.reason}" for c in outcome.failed_checks)
        raise _Halt(
            stage,
            f"guardrail failed: {failed}",
            ExitCode.GUARDRAIL_FAILED,
            [outcome.record_path],
            "guardrail",
            tuple(c.name for c in outcome.failed_checks),
        )
    return outcome
