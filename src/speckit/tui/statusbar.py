"""The status line above the command line: what runs now, always in view.

The history scrolls; this line does not. During a run it says which SPEC, which stage of
how many, how many agents are done and running, how long the run has taken and what its
finished agents cost so far (against the `[budget]` caps when set), like htop's header.
Idle, it names the workspace and how the last run ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rich.text import Text
from textual.widgets import Static

from speckit.specs.ids import allocated_prefix

REFRESH_S = 0.5  # the elapsed time and the agents' states move on their own


def money(value: float) -> str:
    """Cents, or four decimals below one cent (a local model's $0 stays $0.00)."""
    return f"${value:.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def spend_text(costs: Iterable[float | None]) -> str:
    """What the finished agents cost: `$—` when no price is known, `+?` when some are not."""
    costs = list(costs)
    known = [c for c in costs if c is not None]
    if costs and not known:
        return "$—"
    return money(sum(known)) + ("+?" if len(known) < len(costs) else "")


def budget_text(caps: Mapping[str, float]) -> str:
    """`[budget]` caps, e.g. `budget stage $1.00, spec $5.00`."""
    return "budget " + ", ".join(f"{name} {money(cap)}" for name, cap in caps.items())


def elapsed_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class RunState:
    """A snapshot of the run the line follows (read from its history cell)."""

    spec_id: str
    stage: str
    pipeline: Sequence[str]
    done: int
    running: int
    total: int
    elapsed: float
    costs: list[float | None] = field(default_factory=list)
    outcome: str | None = None  # the badge word once it ended


def status_text(workspace: str, run: RunState | None, caps: Mapping[str, float]) -> Text:
    """One line; the most useful parts first, so a narrow terminal cuts the least useful."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if run is None or run.outcome is not None:
        text.append(f"workspace {workspace}", style="bold")
        text.append(" · idle · /help")
        if run is not None:
            text.append(f" · last run {allocated_prefix(run.spec_id) or run.spec_id} ")
            text.append(f"{run.stage} {run.outcome}".strip())
            text.append(f" in {elapsed_text(run.elapsed)}, spent {spend_text(run.costs)}")
        if caps:
            text.append(f" · {budget_text(caps)}", style="dim")
        return text
    text.append(allocated_prefix(run.spec_id) or run.spec_id or "…", style="bold")
    if run.stage:
        where = f" {run.pipeline.index(run.stage) + 1}/{len(run.pipeline)}"
        text.append(f" · {run.stage}{where if run.stage in run.pipeline else ''}", style="bold")
    text.append(f" · agents {run.done}/{run.total} done, {run.running} running")
    text.append(f" · {elapsed_text(run.elapsed)}")
    text.append(f" · spent {spend_text(run.costs)}")
    if caps:
        text.append(f" of {budget_text(caps)}", style="dim")
    return text


class RunSource(Protocol):
    """What the status line reads from a run (a `cells.RunCell`), and how it hears of a
    change at once (an agent done, a new stage) rather than at its next tick."""

    watchers: list[Callable[[], None]]

    def run_state(self, pipeline: Sequence[str]) -> RunState: ...


class StatusBar(Static):
    """The line itself; the app tells it which run cell to follow (`follow`)."""

    def __init__(self, workspace: str, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.workspace = workspace
        self.source: RunSource | None = None
        self.caps: dict[str, float] = {}
        self.pipeline: list[str] = []

    def on_mount(self) -> None:
        self.show()
        self.set_interval(REFRESH_S, self.show)

    def follow(self, source: RunSource, caps: Mapping[str, float], pipeline: list[str]) -> None:
        """A run started: follow it, with the caps and stages of the config it runs with."""
        if self.source is not None and self.show in self.source.watchers:
            self.source.watchers.remove(self.show)
        self.source, self.caps, self.pipeline = source, dict(caps), pipeline
        source.watchers.append(self.show)
        self.show()

    def show(self) -> None:
        state = self.source.run_state(self.pipeline) if self.source is not None else None
        self.update(status_text(self.workspace, state, self.caps))

    @property
    def plain(self) -> str:
        state = self.source.run_state(self.pipeline) if self.source is not None else None
        return status_text(self.workspace, state, self.caps).plain
