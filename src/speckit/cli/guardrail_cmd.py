"""`speckit guardrail STAGE SPEC`: run one stage's guardrail checks on their own."""

from __future__ import annotations

import json

import click

from speckit.cli.context import app
from speckit.cli.options import allow_dirty_option, json_option
from speckit.errors import ExitCode


@click.command()
@click.argument("stage")
@click.argument("spec")
@allow_dirty_option
@json_option("Print the outcome and record as JSON.")
@click.pass_context
def guardrail(ctx: click.Context, stage: str, spec: str, allow_dirty: bool, as_json: bool) -> None:
    """Run the guardrail checks of STAGE for SPEC and write their record.

    \b
    plan       clean tree (untracked files and evidence don't count), baseline audit
    tasks      tasks.md lints clean
    implement  takes the SPEC's lock (one implement per SPEC at a time)
    validate   HTTP health checks from [[guardrails.http_checks]]
    audit      HTTP health checks
    unlock     releases the lock
    Every stage also has a policy check: [guardrails.policy].agents asked to
    approve, by `speckit run` and `speckit auto` (skipped here: no agent runner).

    \b
    Writes evidence/commands/<SPEC>/spec-<stage>_<session>.json (schema v1).
    Environment: SPEC_OPS_ALLOW_DIRTY=1 (same as --allow-dirty), SPEC_OPS_HAL_SKIP=1.
    Exit 0 passed, 4 a check failed (each failure is printed), 64 bad arguments.
    """
    from speckit.guardrails import new_session_id, run_guardrail
    from speckit.specs.documents import resolve_spec
    from speckit.stages import parse_stage

    stage_name = parse_stage(stage)
    workspace = app(ctx).workspace()
    spec_id = resolve_spec(workspace, spec)
    outcome = run_guardrail(
        workspace, spec_id, stage_name, new_session_id(), allow_dirty=allow_dirty
    )
    code = ExitCode.OK if outcome.passed else ExitCode.GUARDRAIL_FAILED
    if as_json:
        click.echo(json.dumps({
            "passed": outcome.passed, "record_path": str(outcome.record_path),
            "record": outcome.record,
        }, indent=2, ensure_ascii=False))  # fmt: skip
        ctx.exit(code)
    for check in outcome.checks:
        label = check.status if check.blocking or check.status != "failed" else "advisory"
        click.echo(f"  {label:<8} {check.name}: {check.reason}", err=True)
    for check in outcome.failed_checks:
        click.echo(f"speckit: guardrail failed: {check.name}: {check.reason}", err=True)
    click.echo(str(outcome.record_path))
    ctx.exit(code)
