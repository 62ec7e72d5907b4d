"""`speckit cache stats|clear`: the answer cache under `.speckit/cache/`."""

from __future__ import annotations

import json

import click

from speckit.cli.context import app
from speckit.cli.options import json_option


@click.group()
def cache() -> None:
    """The answer cache (.speckit/cache/): an agent call whose inputs are identical to an
    earlier valid one reuses its answer, starts nothing and costs $0.

    \b
    Inputs: the agent, driver, model, args, env, the files its config names, the stage,
    the schema and the rendered prompt (with its version and the SPEC's documents).
    Failed, timed-out and invalid answers, and implementers' edits, are never kept.
    Off for one run: --no-cache on run/auto; for good: [cache] enabled = false.
    """


@cache.command()
@json_option()
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Entries, size, hits and misses recorded, and the money the hits saved."""
    from speckit.agents.cache import cache_stats

    workspace = app(ctx).workspace()
    report = cache_stats(workspace.cache_dir / "cache")
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    lookups = report.hits + report.misses
    rate = f" ({report.hits / lookups:.0%} of {lookups} lookups)" if lookups else ""
    click.echo(f"cache:   {report.folder}")
    click.echo(f"entries: {report.entries} ({_bytes(report.size_bytes)})")
    click.echo(f"hits:    {report.hits}{rate}")
    click.echo(f"misses:  {report.misses}")
    click.echo(f"saved:   ${report.saved_usd:.4f} (what the reused answers cost when first asked)")
    if report.oldest:
        click.echo(f"oldest:  {report.oldest}   newest: {report.newest}")


def _bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@cache.command()
@click.option(
    "--older-than",
    "older_than",
    type=float,
    metavar="DAYS",
    help="Remove only entries written more than DAYS days ago (the counters stay).",
)
@click.pass_context
def clear(ctx: click.Context, older_than: float | None) -> None:
    """Remove cached answers (all of them, and the hit counters, unless --older-than)."""
    from speckit.agents.cache import clear_cache

    workspace = app(ctx).workspace()
    removed = clear_cache(workspace.cache_dir / "cache", older_than)
    which = f" older than {older_than:g} day(s)" if older_than is not None else ""
    click.echo(f"removed {removed} cached answer(s){which}")
