"""Run a `/spec-*` command through the pipeline functions (called in a worker thread).

Nothing here re-implements the pipeline: it builds `StageOptions` /
`AutoOptions` from the command and the session's `/set-env` overrides (the
only env a run is given: agents layer it over their own `env`), calls
`run_stage` or `run_auto`, and turns every way a run can end (verdict, halt,
guardrail failure, one-line error, cancel) into a `RunReport` for the view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from speckit.errors import ExitCode, SpeckitError
from speckit.tui.commands import RunAuto, RunStage
from speckit.tui.control import RunCancelled, RunControl

if TYPE_CHECKING:
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
    except Exception as exc:  # a bug must end in a history line, never a dead UI
        report.error = f"internal error: {type(exc).__name__}: {exc}"
        report.exit_code = ExitCode.ERROR
    # A cancel that came after the last agent answered stopped nothing: the verdict stands.
    report.cancel_late = control.cancelled and not report.cancelled
    return report


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
            env=dict(env),
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
        stage=StageOptions(env=dict(env), on_progress=progress, cancel=control.event),
        on_stage=on_stage,
        on_result=on_result,
    )
    outcome = run_auto(workspace, report.spec_id, options)
    report.auto = outcome
    report.exit_code = outcome.exit_code
