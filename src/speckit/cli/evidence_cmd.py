"""`speckit evidence list|stats|reindex`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from speckit.cli.context import app
from speckit.cli.options import json_option


@click.group()
def evidence() -> None:
    """The evidence under evidence/ and its index (.speckit/index.db, a rebuildable cache)."""


@evidence.command("list")
@click.argument("spec")
@json_option()
@click.pass_context
def list_files(ctx: click.Context, spec: str, as_json: bool) -> None:
    """List SPEC's evidence files (kind, size, path), newest names last."""
    from speckit.evidence.index import open_index
    from speckit.specs.documents import resolve_spec

    workspace = app(ctx).workspace()
    spec_id = resolve_spec(workspace, spec)
    _index, connection = open_index(workspace.evidence_root, workspace.cache_dir)
    rows = connection.execute(
        "SELECT kind, bytes, path FROM files WHERE spec_id = ? ORDER BY kind, path", (spec_id,)
    ).fetchall()
    connection.close()
    entries = [
        {"kind": k, "bytes": b, "path": str(Path(p).relative_to(workspace.root))}
        for k, b, p in rows
    ]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo(f"no evidence yet for {spec_id}; run: speckit run plan {spec_id}")
    for entry in entries:
        click.echo(f"{entry['kind']:<10} {entry['bytes']:>9}  {entry['path']}")


@evidence.command()
@click.option("--spec", help="Only this SPEC.")
@json_option()
@click.pass_context
def stats(ctx: click.Context, spec: str | None, as_json: bool) -> None:
    """Files and bytes per SPEC and kind; warns when a SPEC passes [evidence].limit_mb."""
    from speckit.evidence.stats import evidence_stats
    from speckit.specs.documents import resolve_spec

    workspace = app(ctx).workspace()
    spec_id = resolve_spec(workspace, spec) if spec else None
    limit_mb = workspace.config.evidence.limit_mb
    report = evidence_stats(workspace.evidence_root, workspace.cache_dir, limit_mb, spec_id)
    if as_json:
        click.echo(json.dumps([entry.as_dict() for entry in report], indent=2))
        return
    if not report:
        click.echo("no evidence yet")
    for entry in report:
        parts = ", ".join(f"{k} {v['files']} files {v['bytes']} B" for k, v in entry.kinds.items())
        click.echo(f"{entry.spec_id}: {entry.bytes} B ({parts})")
        if entry.over_limit:
            click.echo(
                f"  warning: over the {limit_mb:g} MB limit ([evidence].limit_mb); "
                "archive old bundles",
                err=True,
            )


@evidence.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild .speckit/index.db from the evidence files."""
    from speckit.evidence.index import EvidenceIndex

    workspace = app(ctx).workspace()
    index = EvidenceIndex(workspace.evidence_root, workspace.cache_dir / "index.db")
    connection = index.rebuild()
    counts = {
        t: connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("files", "runs", "agent_calls", "guardrails")
    }
    connection.close()
    click.echo("reindexed: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
