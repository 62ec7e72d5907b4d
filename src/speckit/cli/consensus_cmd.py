"""`speckit consensus check | rejudge | override`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from speckit.cli.context import app, evidence_spec
from speckit.cli.options import json_option
from speckit.workspace import relative

if TYPE_CHECKING:
    from speckit.evidence.rejudge import Verdict


@click.group()
def consensus() -> None:
    """Read, re-judge and override consensus verdicts.

    \b
    Verdicts: ok (exit 0), conflict (exit 2), degraded (exit 3).
    """


@consensus.command()
@click.argument("spec")
@click.argument("stage")
@json_option("Print the synthesis JSON.")
@click.pass_context
def check(ctx: click.Context, spec: str, stage: str, as_json: bool) -> None:
    """Exit with the verdict of the newest synthesis of SPEC's STAGE.

    A human override recorded for that synthesis is honoured.

    \b
    Exit codes: 0 ok, 2 conflict, 3 degraded, 1 no synthesis or unreadable.
    """
    from speckit.errors import VERDICT_EXIT, ExitCode, SpeckitError
    from speckit.evidence.bundle import latest_synthesis
    from speckit.stages import parse_stage

    workspace = app(ctx).workspace()
    stage_name = parse_stage(stage)
    spec_id = evidence_spec(workspace, spec)
    found = latest_synthesis(workspace.evidence_root, spec_id, stage_name)
    if found is None:
        raise SpeckitError(
            f"no synthesis for {stage_name} of {spec_id}: run 'speckit run "
            f"{stage_name} {spec_id}' first"
        )
    path, data = found
    override = data.get("override") if isinstance(data.get("override"), dict) else None
    status = str(override["verdict"] if override else data["status"])
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        where = relative(path, workspace.root)
        click.echo(f"{spec_id} {stage_name}: {status}  ({where})")
        if override:
            click.echo(
                f"  human override by {override.get('who')} at {override.get('when')}: "
                f"{override.get('reason')} (verdict was {data['status']})"
            )
        for reason in data.get("reasons") or []:
            click.echo(f"  {reason}")
    ctx.exit(VERDICT_EXIT.get(status, ExitCode.ERROR))


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "folder": str(verdict.bundle.folder),
        "stage": verdict.bundle.stage,
        "key": verdict.bundle.key,
        "status": verdict.synthesis.status,
        "recorded_status": verdict.recorded_status,
        "recorded_problem": verdict.recorded_problem,
        "reasons": verdict.synthesis.reasons,
        "notes": verdict.synthesis.notes,
        "missing_agents": [m.model_dump() for m in verdict.synthesis.missing_agents],
        "conflicts": verdict.synthesis.conflicts,
        "agreements": [a.text for a in verdict.synthesis.agreements],
    }


@consensus.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--quorum",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Agents that must share an item for it to count as an agreement.",
)
@json_option("Print the verdicts as JSON.")
def rejudge(path: Path, quorum: int, as_json: bool) -> None:
    """Re-apply speckit's verdict rules to the bundles under PATH.

    PATH is any folder holding evidence bundles (searched recursively), e.g.
    evidence/consensus/<SPEC>, also bundles written by the earlier system.
    Files are grouped into bundles by stage and timestamp; every bundle is
    judged and printed with its reasons and the verdict it recorded itself.
    Nothing is written.

    \b
    Exit codes: 0 bundles judged, 1 no bundle found under PATH.
    """
    from speckit.errors import SpeckitError
    from speckit.evidence.rejudge import rejudge as judge_all

    verdicts = judge_all(path, quorum=quorum)
    if not verdicts:
        raise SpeckitError(f"{path}: no evidence bundles (spec-<stage>_<timestamp>_*.json) found")
    if as_json:
        click.echo(json.dumps([_verdict_json(v) for v in verdicts], indent=2))
        return
    for verdict in verdicts:
        bundle, synthesis = verdict.bundle, verdict.synthesis
        recorded = verdict.recorded_status or "-"
        if verdict.recorded_problem:
            recorded += f"; {verdict.recorded_problem}"
        changed = "" if verdict.recorded_status == synthesis.status else "  ← differs"
        click.echo(
            f"{bundle.folder.name} {bundle.command} {bundle.key}: {synthesis.status}"
            f"  (recorded: {recorded}){changed}"
        )
        for reason in synthesis.reasons:
            click.echo(f"  {reason}")
        for note in synthesis.notes:
            click.echo(f"  note: {note}")


@consensus.command()
@click.argument("spec")
@click.argument("stage")
@click.option(
    "--verdict",
    required=True,
    type=click.Choice(["ok", "degraded", "conflict"]),
    help="The verdict to record.",
)
@click.option("--reason", required=True, help="Why (one line; kept as evidence).")
@click.pass_context
def override(ctx: click.Context, spec: str, stage: str, verdict: str, reason: str) -> None:
    """Record a human override of the newest verdict of SPEC's STAGE.

    Writes spec-<stage>_<key>_override.json next to the synthesis (who: git
    user.name or $USER; when; why) and a telemetry line; `consensus check`
    and the pipeline then honour the new verdict for that run.
    """
    from speckit.pipeline.override import override_author, override_reason, override_verdict
    from speckit.stages import parse_stage

    reason = override_reason(reason)  # checked first: a bad reason says so wherever it is run
    workspace = app(ctx).workspace()
    stage_name = parse_stage(stage)
    spec_id = evidence_spec(workspace, spec)
    done = override_verdict(
        workspace,
        spec_id,
        stage_name,
        verdict,
        reason,
        override_author(workspace.root),
    )
    was, who = done.record.previous_status, done.record.who
    shown = relative(done.telemetry, workspace.root) if done.telemetry else "off"
    click.echo(f"recorded  {spec_id} {stage_name}: {verdict} (was {was}) by {who}")
    click.echo(f"evidence  {relative(done.evidence, workspace.root)}")
    click.echo(f"telemetry {shown}")
    for note in done.notes:
        click.echo(note)
    for document in done.documents:
        click.echo(document.describe(workspace.root))
