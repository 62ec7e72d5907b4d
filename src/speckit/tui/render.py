"""What the TUI shows, as Rich renderables built from pipeline results.

Every verdict carries a symbol and a word, so the screen reads the same
without colour. Pure functions of their inputs: no Textual, no I/O.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from speckit.agents.secrets import SECRET_NAME
from speckit.stages import OPTIONAL_STAGES, STAGES
from speckit.views import (
    AGENT_STATE_STYLE,
    BADGES,
    answered_state,
    left_out_label,
    relative,
)

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.pipeline.stage import StageRun
    from speckit.pipeline.status import SpecStatus, StatusTable
    from speckit.tui.execute import RunReport

COLLAPSE_OVER = 5  # agreements / conflicts longer than this start collapsed


def to_plain(renderable: RenderableType, width: int = 160) -> str:
    """The text a renderable shows, without styles (for copy and for tests)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text(styles=False).rstrip()


@dataclass
class LiveAgent:
    """One agent's row while a stage runs."""

    name: str
    role: str = "proposer"
    state: str = "waiting"  # waiting | running | done
    started: float | None = None
    finished: float | None = None
    result: AgentResult | None = None


def live_table(rows: Iterable[LiveAgent], now: float) -> Table:
    """waiting / running with elapsed seconds / done with the agent's status."""
    table = Table(box=None, pad_edge=False, show_edge=False, show_header=False)
    for column in ("agent", "role", "state"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        if row.state == "running" and row.started is not None:
            state = Text(f"… running {now - row.started:.0f}s", style="blue")
        elif row.state == "done" and row.result is not None:
            took = (row.finished or now) - (row.started or now)
            mark, word = answered_state(row.result)
            cached = " (cached)" if row.result.cached_from is not None else ""
            state = Text(
                f"{mark} done: {word} in {took:.1f}s{cached}",
                style=AGENT_STATE_STYLE.get(row.result.status, "red"),
            )
        else:
            state = Text("· waiting", style="dim")
        table.add_row(row.name, row.role, state)
    return table


def missing_lines(run: StageRun) -> list[Text]:
    return [
        Text(f"{left_out_label(m.status)}: {m.agent}: {m.reason}", style="yellow")
        for m in run.synthesis.missing_agents
    ]


def agreement_items(run: StageRun) -> list[str]:
    return [f"{a.text}  [{', '.join(a.agents)}]" for a in run.synthesis.agreements]


def run_paths(run: StageRun) -> list[Path]:
    """The files worth opening after a run: synthesis, then telemetry if written."""
    return run.files


def paths_text(run: StageRun, root: Path) -> Text:
    text = Text()
    text.append("synthesis: ", style="bold")
    text.append(relative(run.bundle.synthesis, root))
    text.append("\ntelemetry: ", style="bold")
    if run.bundle.telemetry is None:
        text.append("off (SPEC_KIT_TELEMETRY_ENABLED=0 or [telemetry] enabled = false)")
    else:
        text.append(relative(run.bundle.telemetry, root))
    for document in run.documents:  # plan.md, tasks.md, or a proposal beside a person's
        text.append(f"\n{document.describe(root)}")
    for note in run.notes:
        text.append(f"\nnote: {note}", style="dim")
    if run.synthesis.arbiter is not None:
        arbiter = run.synthesis.arbiter
        text.append(f"\narbiter: {arbiter.agent} {arbiter.status}")
        if arbiter.decision:
            text.append(f", ruled {arbiter.decision}")
    return text


def report_status(report: RunReport) -> str:
    """The cell's badge word."""
    if report.cancelled:
        return "cancelled"
    if report.guardrail_failed or (report.auto and report.auto.exit_code == 4):
        return "guardrail failed"
    if report.error is not None:
        return "error"
    if report.auto is not None and report.auto.halted:
        verdict_halt = report.runs and report.auto.exit_code in (2, 3)
        return report.runs[-1].status if verdict_halt else "halted"
    if report.runs:
        worst = {"conflict": 2, "degraded": 1, "ok": 0}
        return max((r.status for r in report.runs), key=lambda s: worst.get(s, 3))
    return "ok"


def resume_slash(resume_command: str) -> str:
    """`speckit auto X --from plan` → `/spec-auto X --from plan` (same flags)."""
    return "/spec-auto " + resume_command.removeprefix("speckit auto ").strip()


def halt_text(report: RunReport, root: Path) -> Text:
    """The halt banner: that it halted, where, why, what to read, how to resume."""
    outcome = report.auto
    assert outcome is not None and outcome.halted
    text = Text()
    text.append(" ■ PIPELINE HALTED ", style="bold white on red")
    text.append(f" at {outcome.halted_at} (exit {int(outcome.exit_code)})\n", style="bold")
    text.append("why:    ", style="bold")
    text.append(f"{outcome.reason}\n")
    for path in outcome.read_files:
        text.append("read:   ", style="bold")
        text.append(f"{relative(path, root)}\n")
    text.append("resume: ", style="bold")
    text.append(f"{resume_slash(outcome.resume_command)}", style="bold reverse")
    text.append("\nshell:  ", style="bold")
    text.append(outcome.resume_command)
    for note in outcome.notes:
        text.append(f"\nnote:   {note}", style="dim")
    return text


def auto_footer(report: RunReport) -> Text | None:
    """The line closing a finished auto run that did not halt."""
    outcome = report.auto
    if outcome is None or outcome.halted:
        return None
    if outcome.start is None:
        return Text(f"{report.spec_id}: {outcome.reason}")
    passed = ", ".join(str(g.record.get("command")) for g in outcome.guardrails)
    extra = f" (guardrails passed: {passed})" if passed else ""
    return Text(f"✔ {report.spec_id}: pipeline completed from {outcome.start}{extra}", "green")


def stage_verdicts(status: SpecStatus) -> Text:
    """A SPEC's tracker status and one line per stage: symbol + word, then a halt if any."""
    from speckit.pipeline.status import stage_cell

    text = Text()
    text.append(status.spec_id, style="bold")
    text.append(f"\n  tracker: {status.tracker_status}")
    for stage in STAGES:
        cell = stage_cell(status.stages.get(stage))
        state = status.stages.get(stage)
        if state is None and stage in OPTIONAL_STAGES:  # specify: shown once it ran
            continue
        style = BADGES.get(state.status, ("", ""))[1] if state else "dim"
        text.append(f"\n  {stage:<9} ")
        text.append(cell if state else "· not run", style=style.replace("bold ", ""))
    if status.halted_at:
        text.append(f"\n  ■ HALTED at {status.halted_at}", style="bold red")
    return text


@dataclass(frozen=True)
class StatusBody:
    """`/status` as data for its cell (`speckit.tui.status_view`): the table, each column's
    width in terminal cells, and the whole text (for tests and copy), all laid out once, off
    the UI thread."""

    table: StatusTable
    widths: list[int]
    plain: str


def status_table(rows: Iterable[SpecStatus]) -> StatusBody:
    """`/status`: the same table as `speckit status` (but the evidence size), then halts
    and missing documents. Not a Rich table: laying out 1,000 rows again on every resize
    froze the screen for seconds; the cell draws only the rows in view."""
    from rich.cells import cell_len

    from speckit.pipeline.status import status_table as build

    table = build(rows)
    widths = [cell_len(h) for h in table.headers]
    for cells in table.rows:
        widths = [max(w, cell_len(c)) for w, c in zip(widths, cells, strict=True)]
    lines = [
        "  ".join(c + " " * (w - cell_len(c)) for c, w in zip(cells, widths, strict=True))
        for cells in [table.headers, *table.rows]
    ]
    return StatusBody(table, widths, "\n".join([*(x.rstrip() for x in lines), *table.notes]))


def evidence_stats_text(report: list[dict[str, Any]], limit_mb: float) -> Text:
    if not report:
        return Text("no evidence yet")
    text = Text()
    for entry in report:
        kinds: Mapping[str, Mapping[str, int]] = entry["kinds"]
        parts = ", ".join(f"{k} {v['files']} files {v['bytes']} B" for k, v in kinds.items())
        text.append(f"{entry['spec_id']}: {entry['bytes']} B ({parts})\n")
        if entry["over_limit"]:
            text.append(f"  warning: over the {limit_mb:g} MB limit ([evidence].limit_mb)\n", "red")
    text.rstrip()
    return text


def help_table(lines: Iterable[tuple[str, str]]) -> Table:
    table = Table(box=None, pad_edge=False, show_header=False)
    table.add_column("usage", no_wrap=True, style="bold")
    table.add_column("what")
    for usage, summary in lines:
        table.add_row(usage, summary)
    return table


def env_text(overrides: Mapping[str, str]) -> Text:
    """NAME=VALUE lines; values of secret-looking names are masked (screens get shared)."""
    if not overrides:
        return Text("no session variables; set one with /set-env NAME=VALUE")
    lines = []
    for name, value in sorted(overrides.items()):
        shown = "••••••" if value and SECRET_NAME.search(name) else value
        lines.append(f"{name}={shown}")
    return Text("\n".join(lines))
