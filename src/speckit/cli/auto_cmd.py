"""`speckit auto SPEC`."""

from __future__ import annotations

import click

from speckit.cli.context import app
from speckit.cli.options import (
    allow_conflict_option,
    allow_dirty_option,
    commit_option,
    env_option,
    no_cache_option,
    overwrite_option,
)


@click.command()
@click.argument("spec")
@click.option("--from", "from_stage", help="Start at this stage (default: first stage not yet ok).")
@click.option("--skip-consensus", is_flag=True, help="Run only the guardrails, no agents.")
@allow_conflict_option("Go on past a conflict (still recorded).")
@click.option("--allow-degraded", is_flag=True, help="Go on past a degraded verdict.")
@allow_dirty_option
@commit_option
@env_option
@no_cache_option
@overwrite_option
@click.pass_context
def auto(
    ctx: click.Context,
    spec: str,
    from_stage: str | None,
    skip_consensus: bool,
    allow_conflict: bool,
    allow_degraded: bool,
    allow_dirty: bool,
    commit: bool | None,
    env: dict[str, str],
    no_cache: bool,
    overwrite: bool,
) -> None:
    """Run the pipeline for SPEC: each stage's guardrail and consensus, in order.

    Halts the moment agents disagree (exit 2), an agent is missing or failed
    (exit 3) or a guardrail fails (exit 4), and prints what to read and the exact
    command to resume. A validate that rejects sends the pipeline back to
    implement ([pipeline].validate_retries times), then halts (exit 1).
    Without --from, auto resumes at the first stage not yet completed ok.

    \b
    Example:  speckit auto SPEC-KIT-005 --from plan
    """
    from speckit.cli.live_progress import progress_printer
    from speckit.cli.verdict_view import print_stage_run
    from speckit.pipeline.auto import AutoOptions, run_auto
    from speckit.pipeline.stage import StageOptions, StageRun
    from speckit.specs.documents import resolve_spec
    from speckit.stages import parse_stage

    workspace = app(ctx).workspace()
    spec_id = resolve_spec(workspace, spec)
    progress = progress_printer()  # a live line per running agent on a terminal

    def show(run: StageRun) -> None:
        progress.pause()
        print_stage_run(run, workspace.root)

    def announce(stage: str, attempt: int) -> None:
        progress.pause()  # the live lines are cleared before anything else is printed
        again = f" (attempt {attempt})" if attempt > 1 else ""
        click.echo(f"\n== {stage}{again}", err=True)

    options = AutoOptions(
        from_stage=parse_stage(from_stage) if from_stage else None,
        skip_consensus=skip_consensus,
        allow_conflict=allow_conflict,
        allow_degraded=allow_degraded,
        stage=StageOptions(
            allow_dirty=allow_dirty,
            commit=commit,
            env=env,
            cache=not no_cache,
            overwrite=overwrite,
            on_progress=progress,
            prewarm=("rich.console", "rich.table"),
        ),
        on_stage=announce,
        on_result=show,
    )
    try:
        outcome = run_auto(workspace, spec_id, options)
    finally:
        progress.close()
    for guardrail in outcome.guardrails:
        click.echo(f"guardrail {guardrail.record.get('command')}: passed ({guardrail.record_path})")
    if outcome.start is None:
        click.echo(f"{spec_id}: {outcome.reason}")
    elif outcome.halted:
        from speckit.workspace import relative

        click.echo(f"\nHALTED at {outcome.halted_at}: {outcome.reason}")
        for path in outcome.read_files:
            click.echo(f"  read:   {relative(path, workspace.root)}")
        click.echo(f"  resume: {outcome.resume_command}")
        for label, line in outcome.next_steps.lines(slash=False) if outcome.next_steps else []:
            click.echo(f"  {label + ':':<8}{line}")
        for note in outcome.notes:
            click.echo(f"  note:   {note}")
    else:
        click.echo(f"\n{spec_id}: pipeline completed from {outcome.start}")
    ctx.exit(outcome.exit_code)
