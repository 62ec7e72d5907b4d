"""Printing a stage verdict: shared by `speckit run` and `speckit auto`."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.pipeline.stage import StageRun

BADGE = {"ok": "✔ ok", "degraded": "▲ degraded", "conflict": "✖ conflict"}


def _relative(path: Path | str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def _tokens(result: AgentResult) -> str:
    usage = result.usage
    if usage.input_tokens is None and usage.output_tokens is None:
        return "-"
    return f"{usage.input_tokens or 0}/{usage.output_tokens or 0}"


def _cost(result: AgentResult) -> str:
    if result.cost_usd is None:
        return f"- {result.cost_source}"
    return f"${result.cost_usd:.4f} {result.cost_source}"


class ProgressPrinter:
    """Prints one stderr line as each agent starts and finishes (stdout stays for results)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    def __call__(self, agent: str, state: str, result: AgentResult | None) -> None:
        if state == "running":
            self.started[agent] = time.monotonic()
            click.echo(f"  … {agent} running", err=True)
        elif state == "done" and result is not None:
            seconds = time.monotonic() - self.started.get(agent, time.monotonic())
            reason = f": {result.error}" if result.error else ""
            click.echo(
                f"  {'✔' if result.succeeded else '✖'} {agent} {result.status} "
                f"in {seconds:.1f}s{reason}",
                err=True,
            )
        sys.stderr.flush()


def print_stage_run(run: StageRun, root: Path) -> None:
    """The verdict: status, agents with tokens/latency/cost, conflicts, missing agents, paths."""
    from rich.console import Console
    from rich.table import Table

    # Full width in logs and pipes: a verdict table must not wrap into unreadable cells.
    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    synthesis = run.synthesis
    console.print(
        f"[bold]{run.stage}[/] {run.spec_id}: [bold]{BADGE.get(run.status, run.status)}[/]"
    )
    table = Table(box=None, pad_edge=False)
    for column in ("agent", "role", "status", "model", "tokens in/out", "latency", "cost"):
        table.add_column(column)
    for result in run.results:
        table.add_row(
            result.agent,
            result.role,
            result.status,
            result.model or "-",
            _tokens(result),
            f"{result.latency_ms / 1000:.1f}s",
            _cost(result),
        )
    console.print(table)
    for conflict in synthesis.conflicts:
        console.print(f"conflict: {conflict}")
    for missing in synthesis.missing_agents:
        console.print(f"missing:  {missing.agent}: {missing.reason}")
    if getattr(synthesis, "arbiter", None):
        console.print(f"arbiter:  {synthesis.arbiter}")
    for note in run.notes:
        console.print(f"note:     {note}")
    console.print(f"synthesis: {_relative(run.bundle.synthesis, root)}")
    if run.bundle.telemetry is not None:
        console.print(f"telemetry: {_relative(run.bundle.telemetry, root)}")
    else:
        console.print(
            "telemetry: off (SPEC_KIT_TELEMETRY_ENABLED=0 or [telemetry] enabled = false)"
        )
