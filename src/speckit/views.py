"""Rich views of a stage run shared by the CLI and the TUI: one look, one implementation.

Every verdict carries a symbol and a word, so it reads the same without colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from speckit.workspace import relative as relative

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.consensus.models import CandidateSummary
    from speckit.pipeline.status import StatusTable

BADGES: dict[str, tuple[str, str]] = {
    "ok": ("✔ ok", "bold green"),
    "degraded": ("▲ degraded", "bold yellow"),
    "conflict": ("✖ conflict", "bold red"),
    "guardrail failed": ("■ guardrail failed", "bold magenta"),
    "cancelled": ("○ cancelled", "bold cyan"),
    "error": ("✖ error", "bold red"),
    "running": ("… running", "bold blue"),
    "halted": ("■ HALTED", "bold white on red"),
}
AGENT_STATE_STYLE = {"ok": "green", "waiting": "dim", "running": "blue"}
AGENT_COLUMNS = (
    "agent",
    "role",
    "status",
    "model",
    "tokens in/out",
    "latency",
    "cost",
    "cost source",
)


def output_console() -> Console:
    """A console for command output: the terminal's width, or 200 columns in pipes and logs,
    where Rich would otherwise cut tables to 80 and truncate ids."""
    import sys

    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def left_out_label(status: str) -> str:
    """How to name an agent left out of the consensus: by what happened to it. The
    synthesis lists them all under `missingAgents`, but an agent that answered invalid
    JSON, failed or timed out is not "missing"; only one that did not run is."""
    return status if status in ("invalid", "failed", "timeout", "cancelled") else "missing"


def answered_state(result: AgentResult) -> tuple[str, str]:
    """(mark, word) for a finished call while a stage runs: an answer is "answered", not
    "ok", because the stage check judges it afterwards (the verdict table may say invalid)."""
    return ("•", "answered") if result.succeeded else ("✖", result.status)


def badge(status: str) -> Text:
    label, style = BADGES.get(status, (f"? {status}", "bold"))
    return Text(label, style=style)


def tokens_text(result: AgentResult) -> str:
    usage = result.usage
    if usage.input_tokens is None and usage.output_tokens is None:
        return "-"
    return f"{usage.input_tokens or 0}/{usage.output_tokens or 0}"


def cost_text(result: AgentResult) -> str:
    return "-" if result.cost_usd is None else f"${result.cost_usd:.4f}"


def agent_table(results: Iterable[AgentResult], judged: Mapping[str, str] | None = None) -> Table:
    """One row per agent: status, model, tokens, latency, cost and where the cost came from.

    `judged` maps agent → the synthesis's status for it, so an agent whose tool ran
    fine but whose answer failed the stage schema shows `invalid`, not `ok`.
    """
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in AGENT_COLUMNS:
        table.add_column(column, no_wrap=True)
    for result in results:
        status = (judged or {}).get(result.agent, result.status)
        mark = "✔" if status == "ok" else "✖"
        table.add_row(
            result.agent,
            result.role,
            Text(f"{mark} {status}", style=AGENT_STATE_STYLE.get(status, "red")),
            result.model or "-",
            tokens_text(result),
            f"{result.latency_ms / 1000:.1f}s",
            cost_text(result),
            result.cost_source,
        )
    return table


CANDIDATE_COLUMNS = ("candidate", "status", "files", "+/-", "tests", "")


def candidate_table(candidates: Iterable[CandidateSummary]) -> Table:
    """implement's candidates: agent, what it changed, how its tests went, the winner.

    Each row says its state in words (and a symbol), so it reads without colour."""
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in CANDIDATE_COLUMNS:
        table.add_column(column, no_wrap=column != "status")
    for candidate in candidates:
        tests = candidate.tests
        if tests is None:
            tests_cell = Text("not tested", style="dim")
        else:
            counts = f"{tests.passed if tests.passed is not None else '?'} passed, " + (
                f"{tests.failed if tests.failed is not None else '?'} failed"
            )
            word = "✔ " if tests.green else ("✖ timed out " if tests.timed_out else "✖ ")
            tests_cell = Text(word + counts, style="green" if tests.green else "red")
        status = candidate.status + (f": {candidate.reason}" if candidate.reason else "")
        table.add_row(
            candidate.agent,
            Text(status, style="green" if candidate.status == "ok" else "red"),
            str(len(candidate.files)),
            f"+{candidate.added}/-{candidate.removed}",
            tests_cell,
            Text("★ winner", style="bold green") if candidate.winner else "",
        )
    return table


def status_grid(status: StatusTable, *, wrap: bool = True) -> Table:
    """The status table for Rich: `wrap` lets cells other than the SPEC id wrap (a
    terminal); the TUI keeps every cell on one line."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in status.headers:
        table.add_column(header, no_wrap=not wrap or header == "SPEC")
    for cells in status.rows:
        table.add_row(*cells)
    return table
