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

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.padding import Padding
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
    from speckit.consensus.models import Synthesis
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


def tier_line(synthesis: Synthesis) -> str | None:
    """`[consensus] mode = "escalate"`: which tier decided, and who was not paid for."""
    if synthesis.mode != "escalate":
        return None
    if synthesis.decided_by == "first":
        first = ", ".join(synthesis.first_tier)
        skipped = ", ".join(synthesis.not_called) or "none"
        return f"tier: decided by the first tier ({first}); not called: {skipped}"
    if synthesis.escalated:
        return f"tier: escalated to the panel: {synthesis.escalation_reason}"
    return None


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
    from speckit.pipeline.next_steps import resume_slash as slash

    return slash(resume_command)


def halt_text(report: RunReport, root: Path) -> Text:
    """The halt banner: that it halted, where, why, what to do next, how to resume.

    The lines a user acts on come first and the banner stays short (a file the run's
    own lines above already show is not repeated), so at 80x24 it fits on screen whole.
    """
    outcome = report.auto
    assert outcome is not None and outcome.halted
    text = Text()
    text.append(" ■ PIPELINE HALTED ", style="bold white on red")
    text.append(f" at {outcome.halted_at} (exit {int(outcome.exit_code)})\n", style="bold")
    text.append("why:    ", style="bold")
    text.append(f"{outcome.reason}\n")
    steps = outcome.next_steps.lines(slash=True) if outcome.next_steps else []
    for label, line in steps:
        text.append(f"{label + ':':<8}", style="bold")
        text.append(f"{line}\n", style="bold yellow" if label == "same" else "")
    shown = set(report.runs[-1].files) if report.runs else set()
    for path in outcome.read_files:
        if path not in shown:
            text.append("read:   ", style="bold")
            text.append(f"{relative(path, root)}\n")
    steps_of = outcome.next_steps
    slash = steps_of.resume(slash=True) if steps_of else resume_slash(outcome.resume_command)
    text.append("resume: ", style="bold")
    text.append(slash, style="bold reverse")
    text.append("\nshell:  ", style="bold")
    text.append(steps_of.resume(slash=False) if steps_of else outcome.resume_command)
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


PANE_STAGES = tuple(stage for stage in STAGES if stage not in OPTIONAL_STAGES)
PANE_SYMBOLS = {"ok": "✔", "degraded": "▲", "conflict": "✖"}


def stage_verdicts(status: SpecStatus) -> Text:
    """A SPEC's line in the pane: id (`KIT-005`), one symbol per stage (plan … unlock; `·` not
    run), the halt or Blocked marker, then the title. Everything that must stay visible comes
    before the title, which is the part a narrow pane cuts (the line never wraps)."""
    from speckit.specs.ids import allocated_prefix

    text = Text(no_wrap=True, overflow="ellipsis", end="")
    short_id = allocated_prefix(status.spec_id) or status.spec_id
    text.append(short_id.removeprefix("SPEC-"), style="bold")  # every id starts so
    text.append(" ")
    for stage in PANE_STAGES:
        state = status.stages.get(stage)
        if state is None:
            text.append("·", style="dim")
            continue
        rejected = state.status == "ok" and state.decision == "reject"
        symbol = "✖" if rejected else PANE_SYMBOLS.get(state.status, "?")
        style = (
            BADGES["conflict" if rejected else state.status][1] if state.status in BADGES else ""
        )
        text.append(symbol, style=style.replace("bold ", ""))
    if status.halted_at and status.cancelled:  # a person stopped it: not a halt to act on
        text.append(" ○ cancelled", style="bold cyan")
    elif status.halted_at:
        text.append(" ■ HALTED", style="bold red")
    elif status.tracker_status.lower() == "blocked":
        text.append(" ■ Blocked", style="bold red")
    title = status.title or status.spec_id.removeprefix(allocated_prefix(status.spec_id) or "")
    text.append(f" {title.strip(' -')}")
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


def _stage_rows(lines: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The per-stage commands in one row (`/spec-STAGE SPEC …`) when their usage and summary
    differ only by the stage's name; anything else is kept as it is."""
    rows: list[tuple[str, str]] = []
    for usage, summary in lines:
        name = usage.split(" ", 1)[0]
        stage = name.removeprefix("/spec-")
        if stage in STAGES:
            usage, summary = usage.replace(name, "/spec-STAGE", 1), summary.replace(stage, "STAGE")
            if (usage, summary) in rows:
                continue
        rows.append((usage, summary))
    return rows


HELP_STACKED_BELOW = 50  # columns: narrower than this, each description goes under its usage


class HelpView:
    """`/help`: usage and description side by side, both wrapping at spaces (a command is
    never cut); in a very narrow pane each description goes under its usage."""

    def __init__(self, lines: Iterable[tuple[str, str]]) -> None:
        self.rows = _stage_rows(lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if width >= HELP_STACKED_BELOW:
            longest = max((cell_len(usage) for usage, _ in self.rows), default=0)
            table = Table(box=None, pad_edge=False, show_header=False, expand=False)
            table.add_column("usage", style="bold", max_width=min(longest, width * 3 // 8))
            table.add_column("what")
            for usage, summary in self.rows:
                table.add_row(usage, summary)
            yield table
            return
        for usage, summary in self.rows:
            yield Text(usage, style="bold")
            yield Padding(Text(summary), (0, 0, 0, 2))


def help_table(lines: Iterable[tuple[str, str]]) -> HelpView:
    return HelpView(lines)


def env_text(overrides: Mapping[str, str]) -> Text:
    """NAME=VALUE lines; values of secret-looking names are masked (screens get shared)."""
    if not overrides:
        return Text("no session variables; set one with /set-env NAME=VALUE")
    lines = []
    for name, value in sorted(overrides.items()):
        shown = "••••••" if value and SECRET_NAME.search(name) else value
        lines.append(f"{name}={shown}")
    return Text("\n".join(lines))
