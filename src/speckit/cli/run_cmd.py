"""`speckit run STAGE SPEC`."""

from __future__ import annotations

import click

from speckit.cli.context import app
from speckit.cli.options import (
    allow_conflict_option,
    allow_dirty_option,
    commit_option,
    env_option,
    json_option,
    no_cache_option,
    overwrite_option,
)


@click.command()
@click.argument("stage")
@click.argument("spec")
@allow_conflict_option("Exit 0 on a conflict (it is still recorded).")
@allow_dirty_option
@commit_option
@json_option("Print the synthesis JSON instead of a summary.")
@env_option
@no_cache_option
@overwrite_option
@click.pass_context
def run(
    ctx: click.Context,
    stage: str,
    spec: str,
    allow_conflict: bool,
    allow_dirty: bool,
    commit: bool | None,
    as_json: bool,
    env: dict[str, str],
    no_cache: bool,
    overwrite: bool,
) -> None:
    """Run one STAGE of SPEC: guardrail, agents in parallel, consensus, evidence.

    STAGE is specify, plan, tasks, implement, validate, audit or unlock; SPEC is
    an id or its unique prefix (SPEC-KIT-005). Earlier stages are not required.
    An ok specify, plan or tasks run writes docs/SPEC/spec.md, plan.md or tasks.md
    from the consensus (plan.proposed.md beside a file a person edited, unless
    --overwrite).

    \b
    Exit: 0 ok, 2 conflict (0 with --allow-conflict), 3 degraded,
          4 guardrail failed, 64 bad arguments.
    Example:  speckit run plan SPEC-KIT-005
              speckit run plan SPEC-KIT-005 --env ANTHROPIC_BASE_URL=http://127.0.0.1:8080
    """

    from speckit.cli.live_progress import progress_printer
    from speckit.cli.verdict_view import print_stage_run
    from speckit.pipeline.stage import StageOptions, run_stage
    from speckit.specs.documents import resolve_spec
    from speckit.stages import parse_stage

    workspace = app(ctx).workspace()
    chosen_stage = parse_stage(stage)
    spec_id = resolve_spec(workspace, spec)
    click.echo(f"{chosen_stage} {spec_id}: guardrail, then the agents…", err=True)
    progress = progress_printer()  # a live line per running agent on a terminal
    options = StageOptions(
        allow_conflict=allow_conflict,
        allow_dirty=allow_dirty,
        commit=commit,
        env=env,
        cache=not no_cache,
        overwrite=overwrite,
        on_progress=progress,
        prewarm=("rich.console", "rich.table"),
    )
    try:
        stage_run = run_stage(workspace, spec_id, chosen_stage, options)
    finally:
        progress.close()  # the live lines are cleared before the verdict (or an error)
    if as_json:
        # exactly the synthesis file on disk (timestamp, session id, earlier field names)
        click.echo(stage_run.bundle.synthesis.read_text(encoding="utf-8").rstrip())
        for document in stage_run.documents:  # stdout stays the JSON
            click.echo(document.describe(workspace.root), err=True)
        for note in stage_run.notes:  # the commit's line among them
            click.echo(f"note: {note}", err=True)
    else:
        print_stage_run(stage_run, workspace.root)
    ctx.exit(stage_run.exit_code(allow_conflict))
