"""History cells: one per command, newest last.

A `RunCell` follows a `/spec-*` run live: the worker thread posts messages to
it (thread-safe, in order), the cell shows a row per agent while the stage
runs and the verdict, agents, agreements, conflicts and paths when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from speckit import views
from speckit.tui import render
from speckit.tui.render import COLLAPSE_OVER, LiveAgent
from speckit.tui.statusbar import RunState, spend_text

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.pipeline.stage import StageRun
    from speckit.tui.execute import RunReport


class MessageCell(Static):
    """A one-off entry: help, status, an error line, a note."""

    def __init__(self, line: str, body: RenderableType, kind: str = "info") -> None:
        head = Text(f"› {line}", style="bold") if line else Text()
        if kind == "error":
            body = Text.assemble(("error: ", "bold red"), body)  # type: ignore[arg-type]
        super().__init__(Group(head, body) if line else body, classes=f"cell {kind}")
        self.line = line
        self.kind = kind
        self.plain = render.to_plain(Group(head, body) if line else body)


def _items(title: str, items: list[str], style: str) -> Collapsible | Static:
    body = Text("\n".join(f"• {item}" for item in items), style=style)
    if len(items) > COLLAPSE_OVER:
        return Collapsible(
            Static(body), title=f"{title} ({len(items)})", collapsed=True, classes="items"
        )
    return Static(Text(f"{title}:\n", style="bold") + body, classes="items")


class HaltBanner(Static):
    """The halt: once laid out, the history scrolls so its head is at the top (on a short
    screen the header, reason and next step matter more than the tables above them).

    Done on its first size rather than after a timer: under load the layout can land after
    any timer, and the history, which follows its bottom, would pull the view back to the end.
    The anchor is released for that; the next cell anchors it again (`app.add_cell`)."""

    shown = False

    def on_resize(self) -> None:
        if self.shown or not self.size.height:
            return
        self.shown = True
        history = next((a for a in self.ancestors if isinstance(a, ScrollableContainer)), None)
        if history is not None:
            history.scroll_to_widget(self, animate=False, top=True, immediate=True)
            history.release_anchor()


class RunCell(Vertical):
    """One `/spec-*` or `/spec-auto` run, live while it runs, a verdict when it ends."""

    can_focus = True
    BINDINGS: ClassVar[list[BindingType]] = [Binding("c", "copy_paths", "Copy paths")]

    class StageStarted(Message):
        def __init__(self, stage: str, attempt: int, agents: list[tuple[str, str]]) -> None:
            super().__init__()
            self.stage, self.attempt, self.agents = stage, attempt, agents

    class Progress(Message):
        def __init__(self, agent: str, state: str, result: AgentResult | None) -> None:
            super().__init__()
            self.agent, self.state, self.result = agent, state, result
            self.at = time.monotonic()

    class StageDone(Message):
        def __init__(self, run: StageRun) -> None:
            super().__init__()
            self.run = run

    class RunDone(Message):
        def __init__(self, report: RunReport) -> None:
            super().__init__()
            self.report = report

    class Finished(Message):
        """Bubbles to the app once the cell shows the final result."""

        def __init__(self, cell: RunCell, report: RunReport) -> None:
            super().__init__()
            self.cell, self.report = cell, report

    def __init__(self, line: str, root: Path, spec_id: str = "") -> None:
        super().__init__(classes="cell run")
        self.line = line
        self.root = root
        self.spec_id = spec_id
        self.started = time.monotonic()
        self.ended: float | None = None
        self.costs: list[float | None] = []  # each finished agent's cost_usd, for the spend
        self.watchers: list[Callable[[], None]] = []  # told of every change (the status line)
        self.stage = ""
        self.rows: dict[str, LiveAgent] = {}
        self.paths: list[Path] = []
        self.report: RunReport | None = None
        self.texts: list[str] = []  # plain text of everything shown, for tests and copy
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._head(), classes="run-head")
        yield Vertical(classes="run-body")
        yield Static("", classes="live")

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.5, self._refresh_live)

    @property
    def finished(self) -> bool:
        return self.report is not None

    @property
    def plain(self) -> str:
        """Everything the cell shows, as text: the head line with its badge, then the body."""
        return "\n".join([self._head().plain.rstrip(), *self.texts])

    def run_state(self, pipeline: Sequence[str]) -> RunState:
        """What the status line shows about this run (`statusbar.RunSource`)."""
        states = [row.state for row in self.rows.values()]
        return RunState(
            spec_id=self.spec_id,
            stage=self.stage,
            pipeline=pipeline,
            done=states.count("done"),
            running=states.count("running"),
            total=len(states),
            elapsed=(self.ended or time.monotonic()) - self.started,
            costs=list(self.costs),
            outcome=None if self.report is None else render.report_status(self.report),
        )

    def _head(self) -> Text:
        text = Text(f"› {self.line}   ", style="bold")
        if self.report is None:
            badge = views.badge("running")
            text.append(f"{badge.plain} {self.stage}".rstrip(), style=badge.style)
        else:
            text.append_text(views.badge(render.report_status(self.report)))
        return text

    def _show(self, shown: RenderableType | Widget, plain: str | None = None) -> None:
        widget = shown if isinstance(shown, Widget) else Static(shown)
        body = self.query_one(".run-body", Vertical)
        if body.is_attached:  # not while the app is shutting down
            body.mount(widget)  # the history, anchored at its bottom, follows (app.add_cell)
        if plain is None and not isinstance(shown, Widget):
            plain = render.to_plain(shown)
        self.texts.append(plain or "")

    def _refresh_live(self) -> None:
        for watcher in self.watchers:
            watcher()
        live = self.query_one(".live", Static)
        if not self.rows or self.report is not None:
            live.update("")
            live.display = False
            return
        live.display = True
        live.update(render.live_table(self.rows.values(), time.monotonic()))

    # --- messages from the worker thread -------------------------------------------
    def on_run_cell_stage_started(self, message: StageStarted) -> None:
        message.stop()
        self.stage = message.stage
        again = f" (attempt {message.attempt})" if message.attempt > 1 else ""
        self.rows = {name: LiveAgent(name, role) for name, role in message.agents}
        self.query_one(".run-head", Static).update(self._head())
        self.texts.append(f"== {message.stage}{again}")
        self._refresh_live()

    def on_run_cell_progress(self, message: Progress) -> None:
        message.stop()
        row = self.rows.setdefault(message.agent, LiveAgent(message.agent))
        if message.state == "running":
            row.state, row.started = "running", message.at
        else:
            row.state, row.finished, row.result = "done", message.at, message.result
            if message.result is not None:
                row.role = message.result.role
                self.costs.append(message.result.cost_usd)
        self._refresh_live()

    def on_run_cell_stage_done(self, message: StageDone) -> None:
        message.stop()
        run = message.run
        self.rows = {}
        head = Text(f"{run.stage} {run.spec_id}: ", style="bold")
        head.append_text(views.badge(run.status))
        self._show(head, head.plain)
        table = views.agent_table(run.results, {a.agent: a.status for a in run.synthesis.agents})
        self._show(table)
        if run.synthesis.candidates:  # implement in worktrees: what each candidate did
            self._show(views.candidate_table(run.synthesis.candidates))
            chosen = "chosen: " + "; ".join(run.synthesis.winner_reasons)
            self._show(Text(chosen), chosen)
        if run.synthesis.tests is not None:
            tested = f"tests: {run.synthesis.tests.summary}"
            self._show(Text(tested, style="green" if run.synthesis.tests.green else "red"), tested)
        tier = render.tier_line(run.synthesis)
        if tier is not None:
            self._show(Text(tier), tier)
        for title, items, style in (
            ("conflicts", list(run.synthesis.conflicts), "red"),
            ("agreements", render.agreement_items(run), "green"),
        ):
            if items:
                self._show(
                    _items(title, items, style),
                    "\n".join([f"{title}:"] + [f"• {i}" for i in items]),
                )
        for line in render.missing_lines(run):
            self._show(line, line.plain)
        paths = render.paths_text(run, self.root)
        self._show(Static(paths, classes="paths"), paths.plain)
        self.paths = render.run_paths(run)
        self._refresh_live()

    def on_run_cell_run_done(self, message: RunDone) -> None:
        message.stop()
        report = self.report = message.report
        self.ended = time.monotonic()
        if self._timer is not None:
            self._timer.stop()
        # Ended mid-stage: keep where each agent was (what a cancel stopped), but only once
        # an agent had started: before that (a failed guardrail) no agent was "waiting".
        if any(row.state != "waiting" for row in self.rows.values()):
            self._show(render.live_table(self.rows.values(), time.monotonic()))
        if report.cancelled:
            where = f" at {report.stage}" if report.stage else ""
            text = Text(f"○ cancelled{where}: running agents stopped, their process groups killed")
            text.append(f"; no verdict recorded for {report.stage or 'this run'}")
            self._show(text, text.plain)
        elif report.cancel_late:
            text = Text("○ the cancel came after the last agent had answered: the verdict stands")
            self._show(text, text.plain)
        elif report.error is not None:
            label = "guardrail failed" if report.guardrail_failed else "error"
            text = Text(f"{label}: ", style="bold red")
            text.append(report.error)
            self._show(text, text.plain)
        if self.costs:  # what the run's agents cost, all stages together
            unknown = sum(cost is None for cost in self.costs)
            spent = f"spent: {spend_text(self.costs)} for {len(self.costs)} agent answers"
            spent += f" ({unknown} without a known price)" if unknown else ""
            self._show(Text(spent, style="dim"), spent)
        if report.halted:  # last, and its head scrolled into view: on a short screen the
            # banner's header and reason matter more than the tables above it
            halt = render.halt_text(report, self.root)
            self._show(HaltBanner(halt, classes="halt"), halt.plain)
            self.add_class("halted")
        footer = render.auto_footer(report)
        if footer is not None:
            self._show(footer, footer.plain)
        self.query_one(".run-head", Static).update(self._head())
        self._refresh_live()
        self.post_message(self.Finished(self, report))

    def action_copy_paths(self) -> None:
        self.app.copy_to_clipboard("\n".join(str(p) for p in self.paths))
        shown = ", ".join(p.name for p in self.paths) or "nothing to copy yet"
        self.app.notify(f"copied: {shown}")
