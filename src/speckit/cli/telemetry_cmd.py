"""`speckit telemetry validate | schema | summary | export`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import click

from speckit.cli.context import app, evidence_spec
from speckit.cli.options import json_option

if TYPE_CHECKING:
    from speckit.telemetry.otel_spans import SpanData
    from speckit.telemetry.summary import Figures


@click.group()
def telemetry() -> None:
    """Check, describe, sum up and export the telemetry written by stage runs.

    \b
    Consensus lines (schema v2): evidence/consensus/<SPEC>/*_telemetry.jsonl
    Guardrail records (schema v1): evidence/commands/<SPEC>/spec-<stage>_<session>.json
    SPEC_KIT_TELEMETRY_ENABLED=0 turns the consensus lines off for a run.
    """


@telemetry.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print problems only, no closing count.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], quiet: bool) -> None:
    """Check telemetry files against the published schemas.

    PATHS are files or folders (default: the workspace evidence root). Folders
    are searched for *_telemetry.jsonl and for spec-*.json under commands/.
    Each problem is printed as `path:line: message`; an incomplete last line
    (a writer killed mid-line) is reported and skipped.

    \b
    Exit codes: 0 all valid, 1 problems found or a path is missing.
    """
    from speckit.errors import SpeckitError
    from speckit.telemetry.validate import telemetry_files, validate_guardrail_file, validate_jsonl

    roots = list(paths) or [app(ctx).workspace().evidence_root]
    files = records = problems = 0
    for root in roots:
        if not root.exists():
            raise SpeckitError(f"{root}: no such file or folder")
        for kind, path in telemetry_files(root):
            files += 1
            if kind == "consensus":
                count, found = validate_jsonl(path)
                records += count
            else:
                found = validate_guardrail_file(path)
                records += 1
            problems += len(found)
            for problem in found:
                click.echo(str(problem))
    if not quiet:
        verdict = "all valid" if not problems else f"{problems} problem{'s' * (problems != 1)}"
        click.echo(f"checked {records} records in {files} files: {verdict}", err=bool(problems))
    ctx.exit(1 if problems else 0)


@telemetry.command()
@click.option(
    "--kind",
    type=click.Choice(["consensus", "guardrail"]),
    default="consensus",
    show_default=True,
    help="Which record's schema to print.",
)
def schema(kind: str) -> None:
    """Print the JSON Schema of consensus lines (v2) or guardrail records (v1)."""
    from speckit.telemetry.schema import SCHEMAS

    click.echo(json.dumps(SCHEMAS[kind](), indent=2))


def _money(value: float, unknown: int) -> str:
    text = f"${value:.4f}"
    return f"{text} (+{unknown} unknown)" if unknown else text


def _line(label: str, figures: Figures, per: str) -> str:
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(figures.statuses.items()))
    tokens = str(figures.tokens)
    if figures.unknown_tokens:
        tokens += f" (+{figures.unknown_tokens} unknown)"
    latency = figures.latency_ms / figures.runs / 1000 if figures.runs else 0.0
    cost = _money(figures.cost_usd, figures.unknown_cost)
    return (
        f"  {label:<14} runs {figures.runs:<4} {statuses:<28} tokens {tokens:<18} "
        f"{per} {latency:.1f}s  cost {cost}"
    )


@telemetry.command()
@click.argument("spec", required=False)
@json_option()
@click.pass_context
def summary(ctx: click.Context, spec: str | None, as_json: bool) -> None:
    """Runs, verdicts, tokens, latency and cost per stage and agent.

    Reads every consensus telemetry line of SPEC (default: all SPECs). Totals
    add what was reported; calls without token or cost figures are counted
    as unknown rather than as zero. The guardrail's policy-agent calls get a
    line of their own, "(policy calls)".
    """
    from speckit.telemetry.summary import as_json as rows_json
    from speckit.telemetry.summary import summarise

    workspace = app(ctx).workspace()
    spec_id = evidence_spec(workspace, spec) if spec else None
    rows = summarise(workspace.evidence_root / "consensus", spec_id)
    if as_json:
        click.echo(json.dumps(rows_json(rows), indent=2))
        return
    if not rows:
        click.echo(f"no telemetry yet under {workspace.evidence_root / 'consensus'}")
        return
    for row in rows:
        extra = f"  overrides {row.overrides}" if row.overrides else ""
        skipped = f"  skipped lines {row.skipped_lines}" if row.skipped_lines else ""
        click.echo(f"{row.spec_id} {row.stage}{extra}{skipped}")
        click.echo(_line("(all agents)", row.total, "agent time/run"))
        for agent, figures in sorted(row.agents.items()):
            click.echo(_line(agent, figures, "avg latency"))
        if row.policy.runs:
            click.echo(_line("(policy calls)", row.policy, "avg latency"))


@telemetry.command()
@click.argument("specs", nargs=-1)
@click.option(
    "--otlp",
    "url",
    required=True,
    metavar="URL",
    help="OTLP/HTTP collector, e.g. http://localhost:4318 (/v1/traces is added).",
)
@click.option("--since", metavar="DATE", help="Only runs started on or after DATE (UTC).")
@click.option(
    "--include-content", is_flag=True, help="Also send each agent's answer (off by default)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds per export request, retries included.",
)
@click.pass_context
def export(
    ctx: click.Context,
    specs: tuple[str, ...],
    url: str,
    since: str | None,
    include_content: bool,
    timeout: float,
) -> None:
    """Send the agent calls of SPECS (default: all) as OpenTelemetry traces.

    One trace per `auto` run (an invoke_workflow span, a span per stage run under
    it) or per lone stage run, and an `invoke_agent AGENT` span per agent call with
    the GenAI attributes: provider, models, tokens (input, output, cache read and
    creation, reasoning), gen_ai.usage.cost and speckit.cost_source. Span ids come
    from the run keys, so exporting twice sends the same ids. Prompts and answers
    are never sent unless --include-content (answers only: prompts are not kept).
    Needs the extra: pip install 'speckit[otel]'.

    \b
    Exit codes: 0 exported (or nothing to export), 1 endpoint unreachable or
    refusing, or the otel extra missing, 64 bad URL, DATE or SPEC.
    """
    from speckit.telemetry.otel_export import export as send
    from speckit.telemetry.otel_export import require_sdk, traces_url
    from speckit.telemetry.otel_spans import build_spans, read_stage_lines

    target = traces_url(url)
    since_ns = _since(since) if since else None
    require_sdk()
    workspace = app(ctx).workspace()
    spec_ids = [evidence_spec(workspace, s) for s in specs]
    counts = {"runs": 0, "calls": 0}

    def counted() -> Iterator[SpanData]:
        for span in build_spans(
            read_stage_lines(workspace.evidence_root / "consensus", spec_ids, since_ns),
            include_content,
        ):
            if span.name.startswith("stage "):
                counts["runs"] += 1
            elif span.client:
                counts["calls"] += 1
            yield span

    spans = counted()
    first = next(spans, None)
    if first is None:
        click.echo("no stage runs to export" + (f" since {since}" if since else ""))
        return
    sent = send(chain([first], spans), target, timeout)
    click.echo(
        f"exported {sent} spans to {target}: {counts['runs']} stage runs, "
        f"{counts['calls']} agent calls"
    )


def _since(text: str) -> int:
    """ns since the epoch of DATE (YYYY-MM-DD or an ISO time, UTC unless it says otherwise)."""
    from speckit.errors import UsageError
    from speckit.telemetry.otel_spans import parse_time

    found = parse_time(text.strip())
    if found is None:
        raise UsageError(f"--since: not a date: {text!r} (expected YYYY-MM-DD or an ISO time)")
    return found
