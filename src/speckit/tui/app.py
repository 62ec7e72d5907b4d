"""`speckit tui`: a Textual face over the pipeline functions.

Left: SPECs, one line each (id, a verdict per stage, halt). Centre: a history of
cells, newest last. Bottom: a command line for slash commands. Runs happen in
a thread worker, so the screen stays live; Esc or Ctrl+C cancels a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Footer, Input, OptionList, Static
from textual.worker import get_current_worker

from speckit.errors import SpeckitError, UsageError
from speckit.resources import data_file
from speckit.tui import commands, render
from speckit.tui.cells import MessageCell, RunCell
from speckit.tui.commands import Command
from speckit.tui.control import RunControl
from speckit.tui.execute import RunHooks, execute_run
from speckit.tui.palette import SlashCommands
from speckit.tui.statusbar import StatusBar
from speckit.tui.widgets import CommandLine, SpecList, SpecPane
from speckit.workspace import Workspace

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.pipeline.stage import StageRun
    from speckit.stages import Stage

HELP_KEYS = "\n".join(
    (
        "SPEC: an id or its unique prefix (SPEC-KIT-005) · STAGE: specify plan tasks implement "
        "validate audit unlock · --consensus is accepted: every stage run is a consensus run",
        "Line: Tab completes · ↑/↓ history (kept between sessions) · PgUp/PgDn scroll the "
        "history (Home/End at the line's ends) · Esc closes the hint, then clears the line, "
        "then cancels a run · Ctrl+C cancels a run · Ctrl+Q quits (twice during a run)",
        "Panes: Tab/Shift+Tab move the focus · Ctrl+L command line · keys typed in a pane go "
        "to the line · Ctrl+B hides/shows the SPECs · [ ] narrower/wider · / filters by id or "
        "title (Esc clears) · Enter on a SPEC: /spec-auto",
        "SPEC line: id, plan to unlock as ✔ ok ▲ degraded ✖ conflict/rejected · not run, "
        "■ HALTED or Blocked · Ctrl+Y copies the newest run's paths (c on a focused run: its "
        "own) · Ctrl+P palette",
    )
)
KILL_AFTER = 3.0  # seconds after a cancel before every live agent group is SIGKILLed
QUIT_CONFIRM_S = 5.0  # how long a first Ctrl+Q during a run waits for the second


class SpeckitApp(App[None]):
    """The TUI; `env` holds overrides set before any /set-env (runs inherit the rest)."""

    TITLE = "speckit"
    AUTO_FOCUS = "#command"  # the first focus, before any key: type-ahead lands in the line
    COMMANDS = App.COMMANDS | {SlashCommands}
    CSS_PATH = str(data_file("tui", "app.tcss"))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "escape", "Close / clear / cancel run", priority=True),
        Binding("ctrl+c", "interrupt", "Cancel run", show=False, priority=True),
        Binding("ctrl+y", "copy_paths", "Copy paths"),
        Binding("ctrl+l", "focus_command", "Command"),
        # priority: shown in the footer over the screen's hidden binding of the same key
        Binding("shift+tab", "focus_previous", "Prev pane", priority=True),
        Binding("ctrl+b", "toggle_specs", "SPECs"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        workspace: Workspace,
        env: Mapping[str, str] | None = None,
        *,
        take_signals: bool = False,
        freeze_startup: bool = False,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.take_signals = take_signals  # the real terminal's app only, not pilot tests
        # /set-env values: overrides on top of each agent's env (`speckit.agents.env`)
        self.session_env: dict[str, str] = dict(env or {})
        self.control: RunControl | None = None
        self.hint_shown = False  # completion candidates under the command line
        self.quit_armed = False  # a first Ctrl+Q during a run
        # the real terminal's app only (`_freeze_startup_objects` is process-wide: pilot tests
        # open hundreds of apps in one process)
        self.startup_frozen = not freeze_startup
        self.active: RunCell | None = None
        self.spec_ids: list[str] = []

    # --- layout ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield SpecPane(id="spec-pane")
            yield VerticalScroll(id="history")
        yield Static("", id="hint")
        yield StatusBar(self.workspace.root.name, id="status")
        history = self.workspace.cache_dir / "tui_history"  # kept between sessions
        yield CommandLine(lambda: self.spec_ids, history_path=history, id="command")
        yield Footer()

    def on_mount(self) -> None:
        history = self.query_one("#history", VerticalScroll)
        history.border_title = f"history · workspace {self.workspace.root.name}"
        self.add_cell(MessageCell("", Text("speckit tui: type /help for commands")))
        self.refresh_specs()
        self.query_one("#command", CommandLine).focus()
        if self.take_signals:
            from speckit.tui.control import take_signals

            take_signals(self.on_signal)

    # --- history -----------------------------------------------------------------
    @property
    def cells(self) -> list[Widget]:
        return list(self.query_one("#history", VerticalScroll).children)

    def add_cell(self, cell: Widget) -> None:
        """Show a new cell: the history goes to the bottom and follows what grows there (a
        run's live rows) until the user scrolls up; back at the bottom it follows again."""
        history = self.query_one("#history", VerticalScroll)
        history.mount(cell)
        if not history.is_anchored:
            history.anchor()
        history.scroll_end(animate=False)

    def say(self, line: str, body: RenderableType, kind: str = "info") -> None:
        self.add_cell(MessageCell(line, body, kind))

    # --- SPEC pane -----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="specs", exit_on_error=False)
    def refresh_specs(self) -> None:
        from speckit.tui.queries import spec_statuses

        pane = self.query_one("#specs", SpecList)
        try:
            rows = spec_statuses(self.fresh_workspace())
        except Exception as exc:  # shown in the pane; the app must stay up
            message = exc.message if isinstance(exc, SpeckitError) else f"{exc}"
            self.call_from_thread(pane.show_error, message)
            return
        if get_current_worker().is_cancelled:
            return  # a newer refresh is on its way; do not show older data after it
        self.spec_ids = [row.spec_id for row in rows]
        self.call_from_thread(pane.show, rows)
        if not self.startup_frozen:
            self.startup_frozen = True
            self.call_from_thread(_freeze_startup_objects)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "specs" and event.option.id:
            line = self.query_one("#command", CommandLine)
            line.value = f"/spec-auto {event.option.id}"
            line.cursor_position = len(line.value)
            line.focus()

    # --- commands ------------------------------------------------------------------
    def on_input_submitted(self, event: CommandLine.Submitted) -> None:
        if event.input.id != "command":
            return
        line = event.value.strip()  # the line already emptied itself and kept its history
        self.show_hint("")
        if line:
            self.run_line(line)

    def on_command_line_scroll_history(self, message: CommandLine.ScrollHistory) -> None:
        history = self.query_one("#history", VerticalScroll)
        scroll = {
            "page_up": history.scroll_page_up,
            "page_down": history.scroll_page_down,
            "home": history.scroll_home,
            "end": history.scroll_end,
        }[message.where]
        scroll(animate=False)

    def on_key(self, event: events.Key) -> None:
        """A printable key typed while a pane has the focus goes to the command line (focus and
        character), unless the pane uses that key (`c` on a run, `/` and `[` `]` on the SPECs)."""
        focused = self.focused
        if (
            not event.is_printable
            or event.character is None
            or isinstance(focused, Input)
            or len(self.screen_stack) > 1
            or any(key in self.screen.active_bindings for key in event.aliases)
        ):
            return
        event.stop()
        line = self.query_one("#command", CommandLine)
        self.screen.set_focus(line)
        line.insert_typed(event.character)

    def on_command_line_candidates(self, message: CommandLine.Candidates) -> None:
        self.show_hint("  ".join(c.strip() for c in message.candidates))

    def show_hint(self, text: str) -> None:
        """Completion candidates under the command line; without any, the line takes no room
        (a 24-row terminal has none to spare)."""
        hint = self.query_one("#hint", Static)
        hint.update(text)
        hint.display = bool(text)
        self.hint_shown = bool(text)

    def run_line(self, line: str) -> None:
        """Parse and dispatch one command line; any mistake is a one-line error cell."""
        try:
            command = commands.parse_command(line)
            self.dispatch(command, line)
        except SpeckitError as exc:
            self.say(line, Text(exc.message), "error")

    def dispatch(self, command: Command, line: str) -> None:
        if isinstance(command, commands.RUN_COMMANDS):
            self.start_run(command, line)
        elif isinstance(command, commands.Help):
            self.say(line, Group(render.help_table(commands.help_lines()), Text(HELP_KEYS)))
        elif isinstance(command, commands.Quit):
            self.shutdown()
        elif isinstance(command, commands.SetEnv):
            if command.name is not None:
                self.session_env[command.name] = command.value
                note = "applies to runs started from this session"
                shown = render.env_text({command.name: command.value})
                self.say(f"/set-env {shown.plain}", Text.assemble(shown, f" ({note})"))
            else:
                self.say(line, render.env_text(self.session_env))
        else:
            self.lookup(command, line)

    @work(thread=True, group="lookup", exit_on_error=False)
    def lookup(self, command: Command, line: str) -> None:
        """Commands that read or create files: /status, /evidence-stats, /new, /override."""
        try:
            body = self._lookup(command)
        except SpeckitError as exc:
            self.call_from_thread(self.say, line, Text(exc.message), "error")
            return
        except Exception as exc:  # e.g. OSError, sqlite3.Error: one line, the app stays up
            self.call_from_thread(self.say, line, Text(f"{type(exc).__name__}: {exc}"), "error")
            return
        if isinstance(body, render.StatusBody):  # /status: a cell whose table draws lazily
            self.call_from_thread(self._show_status, line, body)
        else:
            self.call_from_thread(self.say, line, body)
        if isinstance(command, commands.NewSpec | commands.Override):
            self.call_from_thread(self.refresh_specs)

    def _show_status(self, line: str, body: render.StatusBody) -> None:
        from speckit.tui.status_view import StatusCell

        self.add_cell(StatusCell(line, body))

    def _lookup(self, command: Command) -> RenderableType | render.StatusBody:
        from speckit.specs.documents import create_spec, resolve_spec

        ws = self.fresh_workspace()
        if isinstance(command, commands.Override):
            from speckit.tui.execute import execute_override

            return execute_override(ws, command)
        if isinstance(command, commands.NewSpec):
            new_id, row = create_spec(ws, command.description)
            return Text(
                f"created docs/{new_id}/spec.md, plan.md, tasks.md; tracker SPEC.md:{row} "
                f"(Backlog)\nnext: edit docs/{new_id}/spec.md, then /spec-plan {new_id}"
            )
        if isinstance(command, commands.ShowStatus):
            from speckit.tui.queries import spec_statuses

            spec_id = resolve_spec(ws, command.spec) if command.spec else None
            rows = spec_statuses(ws, spec_id)
            return render.status_table(rows) if rows else Text('no SPECs yet: /new "what"')
        if isinstance(command, commands.EvidenceStats):
            from speckit.tui.queries import evidence_stats

            spec_id = resolve_spec(ws, command.spec) if command.spec else None
            stats = evidence_stats(ws, spec_id)
            return render.evidence_stats_text(stats, ws.config.evidence.limit_mb)
        raise UsageError(f"not a lookup command: {command}")  # pragma: no cover

    # --- runs --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.control is not None

    def run_env(self) -> dict[str, str]:
        return dict(self.session_env)

    def start_run(self, command: commands.RunStage | commands.RunAuto, line: str) -> None:
        from speckit.specs.documents import resolve_spec

        if self.control is not None:
            raise UsageError("a run is in progress; wait for it or press Esc to cancel it")
        spec_id = resolve_spec(self.workspace, command.spec)  # unknown: a one-line error
        cell = RunCell(line, self.workspace.root, spec_id)
        self.add_cell(cell)
        self.control, self.active = RunControl(), cell
        self.refresh_bindings()  # the footer now offers Esc: cancel
        self._run(command, line, self.run_env(), self.control, cell)

    def fresh_workspace(self) -> Workspace:
        """The workspace with speckit.toml read again, as each CLI call would: edits apply."""
        return Workspace(self.workspace.root)

    @work(thread=True, group="run", exit_on_error=False)
    def _run(
        self,
        command: commands.RunStage | commands.RunAuto,
        line: str,
        env: dict[str, str],
        control: RunControl,
        cell: RunCell,
    ) -> None:
        workspace = self.fresh_workspace()
        guardrails_only = isinstance(command, commands.RunAuto) and command.skip_consensus
        try:  # the status line follows the run, with the caps and stages it runs with
            caps, stages = workspace.config.budget.caps, list(workspace.config.pipeline.stages)
        except SpeckitError:  # the run reports a broken config itself
            caps, stages = {}, []
        status = self.query_one("#status", StatusBar)
        self.call_from_thread(status.follow, cell, caps, stages)

        def stage_agents(stage: Stage) -> list[tuple[str, str]]:
            try:
                return [(a.name, a.role) for a in workspace.config.stage_agents(stage)]
            except SpeckitError:
                return []

        def on_stage(stage: Stage, attempt: int) -> None:
            agents = [] if guardrails_only else stage_agents(stage)
            cell.post_message(RunCell.StageStarted(stage, attempt, agents))

        def on_result(run: StageRun) -> None:
            cell.post_message(RunCell.StageDone(run))

        def on_progress(agent: str, state: str, result: AgentResult | None) -> None:
            cell.post_message(RunCell.Progress(agent, state, result))

        hooks = RunHooks(on_stage=on_stage, on_result=on_result, on_progress=on_progress)
        report = execute_run(workspace, command, line, env, control, hooks)
        cell.post_message(RunCell.RunDone(report))

    def on_run_cell_finished(self, message: RunCell.Finished) -> None:
        if message.cell is self.active:
            self.control, self.active = None, None
            self.refresh_bindings()
        self.refresh_specs()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "escape":  # idle, or a screen on top (the command palette): its own Esc
            return self.control is not None and len(self.screen_stack) == 1
        return True

    def action_escape(self) -> None:
        """Esc is deliberate: it closes what is open first (the completion hint), then clears
        the command line, and only when there is nothing else to close cancels the run."""
        pane = self.query_one(SpecPane)
        if pane.filter_open and self.focused is pane.query_one("#spec-filter"):
            pane.clear_filter()
            return
        if self.hint_shown:
            self.show_hint("")
            return
        command_line = self.query_one("#command", CommandLine)
        if command_line.value:
            command_line.value = ""
            return
        self.action_cancel_run()

    def action_interrupt(self) -> None:
        """Ctrl+C cancels a run; with none going, it says how to quit (it never quits)."""
        if self.control is not None:
            self.action_cancel_run()
        else:
            self.notify("no run to cancel; Ctrl+Q quits")

    def action_cancel_run(self) -> None:
        if self.control is None or self.control.cancelled:
            return
        self.control.cancel()
        self.notify("cancelling: stopping the agents…")
        self.set_timer(KILL_AFTER, self._kill_stragglers)

    def _kill_stragglers(self) -> None:
        """Agents a cancel could not reach (e.g. policy checks) are SIGKILLed by group."""
        if self.control is not None and self.control.cancelled:
            from speckit.agents.process import kill_all_groups

            kill_all_groups()

    def action_copy_paths(self) -> None:
        """Copy the synthesis and telemetry paths of the newest finished run."""
        for cell in reversed(self.cells):
            if isinstance(cell, RunCell) and cell.paths:
                cell.action_copy_paths()
                return
        self.notify("no run with evidence yet")

    def action_focus_command(self) -> None:
        self.query_one("#command", CommandLine).focus()

    def action_toggle_specs(self) -> None:
        """Ctrl+B: hide the SPEC pane (the history takes the width) or show it again."""
        pane = self.query_one(SpecPane)
        pane.display = not pane.display
        if not pane.display and self.focused is not None and pane in self.focused.ancestors:
            self.action_focus_command()

    def shutdown(self) -> None:
        """Leave; a run still going is cancelled and its agents killed first."""
        if self.control is not None:
            from speckit.agents.process import kill_all_groups

            self.control.cancel()
            kill_all_groups()
        self.exit()

    def on_signal(self, signum: int) -> None:
        """SIGHUP (the terminal closed) or SIGTERM: the run is cancelled, its agents are
        killed at once, and the app leaves (`run_app` then exits 130, as the CLI does)."""
        from speckit import interrupts

        interrupts.record(signum)  # kills every agent group; the runner starts no new agent
        self.shutdown()

    async def action_quit(self) -> None:
        """Quit; during a run, only when Ctrl+Q is pressed again (the run is then cancelled)."""
        if self.control is not None and not self.quit_armed:
            self.quit_armed = True
            self.notify("a run is in progress: press Ctrl+Q again to cancel it and quit")
            self.set_timer(QUIT_CONFIRM_S, self._disarm_quit)
            return
        self.shutdown()

    def _disarm_quit(self) -> None:
        self.quit_armed = False


def _freeze_startup_objects() -> None:
    """Move everything alive once the app is up (modules, widgets, the first SPEC pane) out of
    the garbage collector's sight. They live as long as the app; without this, each full
    collection walks them again, and one lands in about every resize: 80-100 ms of a
    300 ms redraw with 1,000 SPECs. Only this first set is frozen, so what a session makes
    and drops later is still collected."""
    import gc

    gc.collect()  # what is already garbage is freed, not frozen
    gc.freeze()


def run_app(workspace_root: Path, env: Mapping[str, str] | None = None) -> None:
    """Open the TUI on a workspace (the `speckit tui` command); after a signal ended it,
    KeyboardInterrupt: the CLI says "interrupted" and exits 130."""
    from speckit import interrupts

    SpeckitApp(Workspace(workspace_root), env, take_signals=True, freeze_startup=True).run()
    if interrupts.pending() is not None:
        raise KeyboardInterrupt
