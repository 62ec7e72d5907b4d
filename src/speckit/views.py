"""Rich views of a stage run shared by the CLI and the TUI: one look, one implementation.

Every verdict carries a symbol and a word, so it reads the same without colour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from speckit.stages import STAGES
from speckit.workspace import relative as relative

if TYPE_CHECKING:
    from rich.align import AlignMethod
    from rich.measure import Measurement

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


@dataclass(frozen=True)
class FitColumn:
    """A column of a `FitTable`: a key column (`drop == 0`) is never narrower than its
    content; the others go, lowest `drop` first, when the width is short."""

    header: str
    drop: int = 0
    wrap: bool = False  # may wrap at spaces, never inside a word
    squeeze: bool = False  # may wrap like that too, but only once nothing is left to drop
    shrink_to: int | None = None  # may be cut with an ellipsis down to this width
    justify: AlignMethod = "left"


class FitTable:
    """A table that fits the width it is rendered at without cutting what matters.

    Rich shrinks every column of a table that is too wide, so names, verdicts and
    costs come out as `gemi…` and `$0.0…`. This one decides at render time (a terminal's
    width, a TUI pane's width after a resize): shorten the column allowed to shrink,
    wrap the columns allowed to wrap, leave out optional columns (saying which, and
    where they are), and below that give each row as `header value` pairs on lines of
    their own rather than cut a cell.
    """

    GAP = 2  # spaces between columns

    def __init__(
        self, columns: Sequence[FitColumn], rows: Sequence[Sequence[Text]], *, where: str
    ) -> None:
        self.columns = tuple(columns)
        self.rows = [list(row) for row in rows]
        self.where = where  # where a left-out column can be read in full
        self.natural = [
            max([cell_len(c.header), *(_widest_line(row[i]) for row in self.rows)])
            for i, c in enumerate(self.columns)
        ]
        self.words = [  # the narrowest a wrapped column gets: its longest word
            max(
                cell_len(word)
                for text in [c.header, *(row[i].plain for row in self.rows)]
                for word in [*text.split(), ""]
            )
            if c.wrap or c.squeeze
            else self.natural[i]
            for i, c in enumerate(self.columns)
        ]

    def _minimum(self, squeeze: bool) -> list[int]:
        minimum = list(self.natural)
        for index, column in enumerate(self.columns):
            if column.shrink_to is not None:
                minimum[index] = min(self.natural[index], column.shrink_to)
            elif column.wrap or (squeeze and column.squeeze):
                minimum[index] = self.words[index]
        return minimum

    def _total(self, shown: Iterable[int], widths: Sequence[int]) -> int:
        shown = list(shown)
        return sum(widths[i] for i in shown) + self.GAP * max(0, len(shown) - 1)

    def layout(self, width: int) -> tuple[list[int], list[int]] | None:
        """(the columns shown, every column's width) to fit `width`, or None when even
        the key columns at their narrowest do not fit."""
        for squeeze in (False, True):
            fitted = self._fit(width, self._minimum(squeeze))
            if fitted is not None:
                return fitted
        return None

    def _fit(self, width: int, minimum: list[int]) -> tuple[list[int], list[int]] | None:
        shown = list(range(len(self.columns)))
        optional = sorted((c.drop, i) for i, c in enumerate(self.columns) if c.drop)
        left_out: list[int] = []
        for _drop, index in optional:
            if self._total(shown, minimum) <= width:
                break
            shown.remove(index)
            left_out.append(index)
        if self._total(shown, minimum) > width:
            return None
        for index in reversed(left_out):  # take back what fits after all, most wanted first
            if self._total([*shown, index], minimum) <= width:
                shown = sorted([*shown, index])
        widths = list(self.natural)
        excess = self._total(shown, widths) - width
        shrinking = [i for i in shown if self.columns[i].shrink_to is not None]
        wrapping = [i for i in shown if minimum[i] < widths[i] and i not in shrinking]
        for index in shrinking + wrapping:  # the slug first, then the wrapped cells
            if excess <= 0:
                break
            give = min(excess, widths[index] - minimum[index])
            widths[index] -= give
            excess -= give
        return shown, widths

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        from rich.measure import Measurement

        keys = [i for i, c in enumerate(self.columns) if not c.drop]
        narrowest = self._total(keys, self._minimum(squeeze=True))
        widest = self._total(range(len(self.columns)), self.natural)
        return Measurement(min(narrowest, widest), widest).with_maximum(options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        fitted = self.layout(options.max_width)
        if fitted is None:
            yield from self._stacked(options.max_width)
            return
        shown, widths = fitted
        table = Table(
            box=None,
            pad_edge=False,
            show_edge=False,
            header_style="bold",
            padding=(0, self.GAP // 2),
        )
        for index in shown:
            column = self.columns[index]
            table.add_column(
                column.header,
                width=widths[index],
                no_wrap=widths[index] >= self.natural[index] or column.shrink_to is not None,
                overflow="ellipsis" if column.shrink_to is not None else "fold",
                justify=column.justify,
            )
        for row in self.rows:
            table.add_row(*(row[i] for i in shown))
        yield table
        left_out = [self.columns[i].header for i in range(len(self.columns)) if i not in shown]
        if left_out and self.rows:
            yield Text(f"{', '.join(left_out)}: {self.where} (no room here)", "dim")

    def _stacked(self, width: int) -> RenderResult:
        """Each row as its first cell, then `header value` pairs packed onto lines: what is
        left when not even the key columns fit side by side."""
        for row in self.rows:
            yield row[0]
            line = Text("  ")
            for column, cell in zip(self.columns[1:], row[1:], strict=True):
                if not cell.plain or cell.plain == "-":
                    continue
                pair = Text.assemble((column.header, "bold"), " ", cell) if column.header else cell
                if line.cell_len > 2 and line.cell_len + 2 + pair.cell_len > width:
                    yield line
                    line = Text("  ")
                line.append_text(Text("  ") if line.cell_len > 2 else Text(""))
                line.append_text(pair)
            if line.cell_len > 2:
                yield line


def _widest_line(text: Text) -> int:
    plain = text.plain
    if "\n" not in plain:
        return cell_len(plain)
    return max(cell_len(line) for line in plain.splitlines())


_AGENT_FIT = (
    FitColumn("agent"),
    FitColumn("role"),
    FitColumn("status"),
    FitColumn("model", drop=2),
    FitColumn("tokens in/out", justify="left"),
    FitColumn("latency", drop=3),
    FitColumn("cost"),
    FitColumn("cost source", drop=1),
)


def agent_table(
    results: Iterable[AgentResult], judged: Mapping[str, str] | None = None
) -> FitTable:
    """One row per agent: status, model, tokens, latency, cost and where the cost came from.

    `judged` maps agent → the synthesis's status for it, so an agent whose tool ran
    fine but whose answer failed the stage schema shows `invalid`, not `ok`. On a narrow
    screen the cost source, then the model, then the latency give way (the synthesis JSON
    keeps them all); agent, role, status, tokens and cost are never cut.
    """
    rows: list[list[Text]] = []
    for result in results:
        status = (judged or {}).get(result.agent, result.status)
        mark = "✔" if status == "ok" else "✖"
        rows.append(
            [
                Text(result.agent),
                Text(result.role),
                Text(f"{mark} {status}", style=AGENT_STATE_STYLE.get(status, "red")),
                Text(result.model or "-"),
                Text(tokens_text(result)),
                Text(f"{result.latency_ms / 1000:.1f}s"),
                Text(cost_text(result)),
                Text(result.cost_source),
            ]
        )
    return FitTable(_AGENT_FIT, rows, where="in the synthesis JSON")


_CANDIDATE_FIT = (
    FitColumn("candidate"),
    FitColumn("status", wrap=True),  # carries the reason, wrapped at spaces
    FitColumn("files", drop=1, justify="right"),
    FitColumn("+/-", drop=2),
    FitColumn("tests"),
    FitColumn(""),
)


def candidate_table(candidates: Iterable[CandidateSummary]) -> FitTable:
    """implement's candidates: agent, what it changed, how its tests went, the winner.

    Each row says its state in words (and a symbol), so it reads without colour."""
    rows: list[list[Text]] = []
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
        rows.append(
            [
                Text(candidate.agent),
                Text(status, style="green" if candidate.status == "ok" else "red"),
                Text(str(len(candidate.files))),
                Text(f"+{candidate.added}/-{candidate.removed}"),
                tests_cell,
                Text("★ winner", style="bold green") if candidate.winner else Text(""),
            ]
        )
    return FitTable(_CANDIDATE_FIT, rows, where="in the synthesis JSON")


# What gives way in a narrow status table, first to last; the SPEC slug is shortened before
# any of them, the verdicts and the cost never.
_STATUS_DROP = {"evidence": 1, "guardrail": 2, "tracker": 3, "tokens": 4}
# The part of a SPEC id that names it (`SPEC-KIT-005`); what follows is its slug.
_SPEC_NUMBER = re.compile(r"^SPEC-[A-Z][A-Z0-9]*-\d+(?=-)")


def spec_id_width(spec_id: str) -> int:
    """How narrow a SPEC cell may get: its number and an ellipsis for the slug
    (`SPEC-KIT-005…`), or the whole id when it has no slug."""
    match = _SPEC_NUMBER.match(spec_id)
    return cell_len(spec_id) if match is None else match.end() + 1


def status_grid(status: StatusTable, *, wrap: bool = True) -> FitTable:
    """The status table for Rich: `wrap` lets the tracker cell wrap at spaces (a terminal);
    the TUI keeps every cell on one line. A narrow screen shortens the SPEC slugs first,
    then leaves out the evidence size, guardrail, tracker and tokens (`speckit status
    --json` has them); the SPEC number and the verdicts are never cut."""
    columns: list[FitColumn] = []
    for index, header in enumerate(status.headers):
        if index == 0:
            shortest = max((spec_id_width(cells[0]) for cells in status.rows), default=0)
            columns.append(FitColumn(header, shrink_to=max(shortest, cell_len(header))))
        else:
            columns.append(
                FitColumn(
                    header,
                    drop=_STATUS_DROP.get(header, 0),
                    wrap=wrap and header == "tracker",
                    squeeze=wrap and header in STAGES,
                    justify="right" if header in ("tokens", "cost", "evidence") else "left",
                )
            )
    rows = [[Text(cell) for cell in cells] for cells in status.rows]
    return FitTable(tuple(columns), rows, where="in speckit status --json")
