"""`speckit status [SPEC]`."""

from __future__ import annotations

import sys

import click

from speckit.cli.context import app
from speckit.cli.options import json_option


@click.command()
@click.argument("spec", required=False)
@json_option()
@click.pass_context
def status(ctx: click.Context, spec: str | None, as_json: bool) -> None:
    """Where each SPEC stands: tracker status, each stage's latest verdict, guardrail,
    tokens and cost so far, where auto halted and why, missing documents, evidence size.

    Calls no agent; reads the evidence index (.speckit/index.db), rebuilding it
    if it is missing or corrupt.
    """
    from speckit.pipeline.status import collect_status, status_table
    from speckit.specs.documents import resolve_spec

    workspace = app(ctx).workspace()
    spec_id = resolve_spec(workspace, spec) if spec else None
    rows = collect_status(workspace, spec_id)
    if as_json:
        import orjson

        # orjson serialises the dataclasses directly, many times faster than the pure-Python
        # json.dumps(indent=2) (its C encoder has no indent), as the same JSON document: only
        # the escapes of non-ASCII text and float spellings (1e-05 → 0.00001) differ.
        try:
            click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
        except orjson.JSONEncodeError:  # e.g. an integer past 64 bits in a candidate
            import json

            click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if not rows:
        click.echo('no SPECs yet; create one with: speckit new "what to build"')
        return
    table = status_table(rows, evidence=True)
    if sys.stdout.isatty():
        from rich.console import Console

        from speckit.views import status_grid

        Console().print(status_grid(table))
    else:
        click.echo("\t".join(table.headers))
        click.echo("\n".join("\t".join(cells) for cells in table.rows))
    for note in table.notes:
        click.echo(note)
    if spec_id is not None and rows and rows[0].candidates:
        _print_candidates(rows[0].candidates)


def _print_candidates(candidates: list[dict[str, object]]) -> None:
    """The newest implement run's candidates: who changed what, tests, the winner."""
    from pydantic import ValidationError

    from speckit.consensus.models import CandidateSummary

    try:
        parsed = [CandidateSummary.model_validate(c) for c in candidates]
    except ValidationError:
        click.echo("implement candidates: unreadable in the newest synthesis")
        return
    click.echo("implement candidates (newest run):")
    if sys.stdout.isatty():
        from rich.console import Console

        from speckit.views import candidate_table

        Console().print(candidate_table(parsed))
        return
    for c in parsed:
        tests = c.tests.summary if c.tests is not None else "not tested"
        winner = "\twinner" if c.winner else ""
        click.echo(
            f"{c.agent}\t{c.status}\t{len(c.files)} files\t+{c.added}/-{c.removed}\t{tests}{winner}"
        )
