"""`/status` in the history: a cell whose table draws only the rows in view.

A Rich table of 1,000 SPECs is laid out again on every resize and every repaint of the
history (4.3 s for three tables of 300 SPECs, typing frozen meanwhile), and Textual's
DataTable measures every cell through Rich as rows are added (~1 s for 12,000 cells). The
worker thread lays the rows out as text once (`render.status_table`); `StatusGrid`, a
line-API ScrollView, turns only the lines on screen into segments.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from speckit.tui.cells import MessageCell
from speckit.tui.render import StatusBody

GAP = Segment("  ")
HEADER = Style(bold=True)
# A verdict reads without colour (symbol + word); colour only helps the eye.
CELL_STYLES = {"✔": Style(color="green"), "▲": Style(color="yellow"), "✖": Style(color="red")}
NOT_RUN = Style(dim=True)


class StatusGrid(ScrollView):
    """The status table, header kept on top; scrolls both ways when larger than its box."""

    DEFAULT_CSS: ClassVar[str] = """
    StatusGrid {
        height: auto;
        max-height: 70vh;
        scrollbar-size-horizontal: 1;
    }
    """

    def __init__(self, body: StatusBody) -> None:
        super().__init__(classes="status-grid")
        self.body = body
        width = sum(body.widths) + len(GAP.text) * (len(body.widths) - 1)
        self.virtual_size = Size(width, len(body.table.rows) + 1)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            cells, styles = self.body.table.headers, None
        else:
            index = scroll_y + y - 1
            if index >= len(self.body.table.rows):
                return Strip.blank(self.size.width)
            cells, styles = self.body.table.rows[index], CELL_STYLES
        segments: list[Segment] = []
        for column, (cell, width) in enumerate(zip(cells, self.body.widths, strict=True)):
            if column:
                segments.append(GAP)
            if styles is None:
                style: Style | None = HEADER
            elif cell == "·":
                style = NOT_RUN
            else:
                style = styles.get(cell[:1])
            segments.append(Segment(cell, style))
            segments.append(Segment(" " * (width - Segment(cell).cell_length)))
        strip = Strip(segments, self.virtual_size.width)
        return strip.crop(scroll_x, scroll_x + self.size.width)

    def line_text(self, y: int) -> str:
        """The text of screen line `y` of the grid (for tests)."""
        return self.render_line(y).text


class StatusCell(MessageCell):
    """The `/status` cell: the command, the table (every SPEC), then halts and missing
    documents. A MessageCell (its `line`, `kind` and `plain` text) holding child widgets."""

    DEFAULT_CSS: ClassVar[str] = """
    StatusCell {
        layout: vertical;
    }
    StatusCell > .status-notes {
        height: auto;
    }
    """

    def __init__(self, line: str, body: StatusBody) -> None:
        # Not MessageCell.__init__: it renders its body as text right away, the very cost
        # this cell avoids; the worker laid the text out already.
        Static.__init__(self, "", classes="cell info status")
        self.line = line
        self.kind = "info"
        self.plain = f"› {line}\n{body.plain}"
        self.body = body

    def compose(self) -> ComposeResult:
        yield Static(Text(f"› {self.line}", style="bold"), classes="status-head")
        yield StatusGrid(self.body)
        if self.body.table.notes:
            yield Static("\n".join(self.body.table.notes), classes="status-notes")

    @property
    def grid(self) -> StatusGrid:
        return self.query_one(StatusGrid)
