"""Run a `/spec-*` command through the pipeline functions (called in a worker thread).

Nothing here re-implements the pipeline: it builds `StageOptions` /
`AutoOptions` from the command (its flags mean what the CLI's do) and the
session's `/set-env` overrides (the only env a run is given: agents layer it
over their own `env`), calls `run_stage` or `run_auto`, and turns every way a
run can end (verdict, halt, guardrail failure, one-line error, cancel) into a
`RunReport` for the view. `/override` calls the same function as
`speckit consensus override` and words its result the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from speckit.errors import ExitCode, SpeckitError
from speckit.tui.commands import Override, RunAuto, RunStage
from speckit.tui.control import RunCancelled, RunControl

if TYPE_CHECKING:
    from rich.text import Text

    from speckit.agents.runner import ProgressCallback
    from speckit.pipeline.auto import AutoOutcome
    from speckit.pipeline.stage import StageRun
    from speckit.stages import Stage
    from speckit.workspace import Workspace


@dataclass
class RunReport:
    """How one run command ended, for its history cell."""

    command: str
    spec_id: str = ""
    runs: list[StageRun] = field(default_factory=list)
    auto: AutoOutcome | None = None
    error: str | None = None
    exit_code: ExitCode = ExitCode.OK
    guardrail_failed: bool = False
    cancelled: bool = False
    cancel_late: bool = False  # Esc came after the run's last agent had answered
    stage: Stage | None = None  # the stage running when it ended (cancel, error)

    @property
    def halted(self) -> bool:
        return self.auto is not None and self.auto.halted


@dataclass
class RunHooks:
    """UI callbacks, all called from the worker thread."""

    on_stage: Callable[[Stage, int], None] = lambda _stage, _attempt: None
    on_result: Callable[[StageRun], None] = lambda _run: None
    on_progress: ProgressCallback | None = None


def execute_run(
    workspace: Workspace,
    command: RunStage | RunAuto,
    line: str,
    env: Mapping[str, str],
    control: RunControl,
    hooks: RunHooks,
) -> RunReport:
    """Run the command; never raises (errors and cancels are in the report)."""
    report = RunReport(command=line)
    try:
        _dispatch(workspace, command, env, control, hooks, report)
    except (RunCancelled, asyncio.CancelledError, KeyboardInterrupt):
        report.cancelled, report.exit_code = True, ExitCode.INTERRUPTED
    except SpeckitError as exc:
        report.error, report.exit_code = exc.message, exc.exit_code
        report.guardrail_failed = exc.exit_code == ExitCode.GUARDRAIL_FAILED
        if report.guardrail_failed:  # the cell's label already says "guardrail failed"
            report.error = _guardrail_error(workspace, exc)
    except Exception as exc:  # a bug must end in a history line, never a dead UI
        report.error = f"internal error: {type(exc).__name__}: {exc}"
        report.exit_code = ExitCode.ERROR
    # A cancel that came after the last agent answered stopped nothing: the verdict stands.
    report.cancel_late = control.cancelled and not report.cancelled
    return report


def _guardrail_error(workspace: Workspace, exc: SpeckitError) -> str:
    """The failed checks and the record, paths relative to the workspace."""
    from speckit.pipeline.stage import GuardrailFailed
    from speckit.workspace import relative

    if not isinstance(exc, GuardrailFailed):
        return exc.message
    failed = "; ".join(f"{c.name}: {c.reason}" for c in exc.outcome.failed_checks)
    return f"{failed}; record: {relative(exc.outcome.record_path, workspace.root)}"


def _dispatch(
    workspace: Workspace,
    command: RunStage | RunAuto,
    env: Mapping[str, str],
    control: RunControl,
    hooks: RunHooks,
    report: RunReport,
) -> None:
    from speckit.pipeline.stage import StageOptions, run_stage
    from speckit.specs.documents import resolve_spec

    report.spec_id = resolve_spec(workspace, command.spec)
    progress = hooks.on_progress
    if isinstance(command, RunStage):
        options = StageOptions(
            allow_conflict=command.allow_conflict,
            allow_dirty=command.allow_dirty,
            commit=command.commit,
            env=dict(env),
            cache=command.cache,
            overwrite=command.overwrite,
            on_progress=progress,
            cancel=control.event,
        )
        report.stage = command.stage
        control.checkpoint()
        hooks.on_stage(command.stage, 1)
        run = run_stage(workspace, report.spec_id, command.stage, options)
        report.runs.append(run)
        hooks.on_result(run)
        report.exit_code = run.exit_code(command.allow_conflict)
        return
    _auto(workspace, command, env, control, hooks, report, progress)


def _auto(
    workspace: Workspace,
    command: RunAuto,
    env: Mapping[str, str],
    control: RunControl,
    hooks: RunHooks,
    report: RunReport,
    progress: ProgressCallback | None,
) -> None:
    from speckit.pipeline.auto import AutoOptions, run_auto
    from speckit.pipeline.stage import StageOptions

    def on_stage(stage: Stage, attempt: int) -> None:
        report.stage = stage
        control.checkpoint()
        hooks.on_stage(stage, attempt)

    def on_result(run: StageRun) -> None:
        report.runs.append(run)
        hooks.on_result(run)

    options = AutoOptions(
        from_stage=command.from_stage,
        skip_consensus=command.skip_consensus,
        allow_conflict=command.allow_conflict,
        allow_degraded=command.allow_degraded,
        stage=StageOptions(
            allow_dirty=command.allow_dirty,
            commit=command.commit,
            env=dict(env),
            cache=command.cache,
            overwrite=command.overwrite,
            on_progress=progress,
            cancel=control.event,
        ),
        on_stage=on_stage,
        on_result=on_result,
    )
    outcome = run_auto(workspace, report.spec_id, options)
    report.auto = outcome
    report.exit_code = outcome.exit_code


def override_spec(workspace: Workspace, reference: str) -> str:
    """A SPEC id from the docs (prefix allowed) or one with evidence on disk, as the CLI's
    `consensus override` accepts it (a SPEC whose folder was removed can still be overridden)."""
    from speckit.errors import UsageError
    from speckit.specs.documents import resolve_spec
    from speckit.specs.ids import check_spec_id

    try:
        return resolve_spec(workspace, reference)
    except UsageError:
        if (workspace.evidence_root / "consensus" / check_spec_id(reference)).is_dir():
            return reference
        raise


def execute_override(workspace: Workspace, command: Override) -> Text:
    """Record the override as `speckit consensus override` does; its lines, for a cell."""
    from rich.text import Text

    from speckit.pipeline.override import override_author, override_reason, override_verdict
    from speckit.workspace import relative

    reason = override_reason(command.reason)  # checked first, as the CLI does
    spec_id = override_spec(workspace, command.spec)
    who = override_author(workspace.root)
    done = override_verdict(workspace, spec_id, command.stage, command.verdict, reason, who)
    telemetry = relative(done.telemetry, workspace.root) if done.telemetry else "off"
    text = Text()
    text.append(f"recorded  {spec_id} {command.stage}: ", style="bold")
    text.append(f"{command.verdict} (was {done.record.previous_status}) by {who}")
    text.append(f"\nevidence  {relative(done.evidence, workspace.root)}")
    text.append(f"\ntelemetry {telemetry}")
    for line in [*done.notes, *(d.describe(workspace.root) for d in done.documents)]:
        text.append(f"\n{line}")
    if command.verdict == "ok":
        text.append(f"\nnext: /spec-auto {spec_id} goes on after {command.stage}", style="dim")
    return text
